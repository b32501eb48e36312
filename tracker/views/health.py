"""/health/: for the hospital's monitoring (Nagios, Zabbix, a load balancer). No patient data."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import health as engine_health


@never_cache
@require_GET
def health(request):
    """200 while the escalation engine sweeps and delivers; 503 (with what is wrong) otherwise."""
    status = engine_health.engine_status()
    return JsonResponse(status.as_dict(), status=200 if status.ok else 503)
