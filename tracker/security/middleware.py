"""Automatic logoff after inactivity, and logging of permission denials."""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse

from . import events

SESSION_KEY = "tracker_last_activity"
# Sent by the live worklist / dashboard polling (htmx hx-headers): not activity by a person.
BACKGROUND_HEADER = "X-Background-Refresh"


def is_background_refresh(request):
    return request.headers.get(BACKGROUND_HEADER) == "1"


class InactivityLogoutMiddleware:
    """Signs a user out after INACTIVITY_TIMEOUT_MINUTES (default 15) without activity.

    Polling requests carrying `X-Background-Refresh: 1` do not count as activity, so a worklist
    left open on a ward computer still logs off. Place after AuthenticationMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            timeout = getattr(settings, "INACTIVITY_TIMEOUT_MINUTES", 15) * 60
            last = request.session.get(SESSION_KEY)
            if last is not None and now - last > timeout:
                events.security_event("logoff_inactivity", user=user, request=request)
                logout(request)
                return self._signed_out(request)
            if last is None or not is_background_refresh(request):
                request.session[SESSION_KEY] = now
        return self.get_response(request)

    def _signed_out(self, request):
        login_url = settings.LOGIN_URL
        # (HtmxMiddleware runs later, so read htmx's header directly.)
        if request.headers.get("HX-Request") == "true" or is_background_refresh(request):
            # htmx follows HX-Redirect with a full page load to the login page.
            response = HttpResponse(status=401)
            response["HX-Redirect"] = redirect_to_login(request.get_full_path(), login_url).url
            return response
        return redirect_to_login(request.get_full_path(), login_url)


class PermissionDenialLogMiddleware:
    """Logs every refusal: PermissionDenied raised by a view or service, and 403 responses."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403 and not getattr(request, "_denial_logged", False):
            events.security_event("permission_denied", user=request.user, request=request)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, PermissionDenied):
            request._denial_logged = True
            events.security_event(
                "permission_denied", user=getattr(request, "user", None), request=request
            )
        return None
