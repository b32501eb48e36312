"""Error pages in plain words."""

from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a stale or foreign form. Say what happened and what to do, in the
    clinic's words (never Django's technical page); the reason goes to no page."""
    referer = request.headers.get("Referer", "")
    safe = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return render(
        request,
        "tracker/errors/form_not_sent.html",
        {"back_url": referer if safe and referer else "/"},
        status=403,
    )
