"""What every screen shares: sign-in for full pages and htmx refreshes, the 404 rule."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404
from django_htmx.http import HttpResponseClientRefresh

from ..access import visible_findings
from ..models import Finding


def signed_in(view):
    """login_required; an htmx refresh of a signed-out page reloads it (to the sign-in form)
    instead of swapping the sign-in page into a table."""
    protected = login_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and getattr(request, "htmx", False):
            return HttpResponseClientRefresh()
        return protected(request, *args, **kwargs)

    return wrapper


def visible_finding_or_404(user, pk, queryset=None):
    """A finding the user may not see does not exist for them (404, not 403)."""
    queryset = Finding.objects.for_worklist() if queryset is None else queryset
    return get_object_or_404(visible_findings(user, queryset), pk=pk)
