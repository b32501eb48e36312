"""Template context every signed-in page needs."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from . import health


def escalation_engine(request):
    """The escalation engine's state for the alarm in base.html (H12). Lazy: a page that does not
    render the alarm (a fragment refresh) runs no query for it."""
    if not settings.ESCALATION_HEARTBEAT_ALARM:
        return {}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"escalation_engine": SimpleLazyObject(health.engine_status)}
