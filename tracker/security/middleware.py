"""Automatic logoff after inactivity, and logging of permission denials."""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse

from . import events, formstash

SESSION_KEY = "tracker_last_activity"
# Sent by the live worklist / dashboard polling (htmx hx-headers): not activity by a person.
BACKGROUND_HEADER = "X-Background-Refresh"


def is_background_refresh(request):
    return request.headers.get(BACKGROUND_HEADER) == "1"


class InactivityLogoutMiddleware:
    """Signs a user out after INACTIVITY_TIMEOUT_MINUTES (default 15) without activity.

    Polling requests carrying `X-Background-Refresh: 1` do not count as activity, so a worklist
    left open on a ward computer still logs off. Place after AuthenticationMiddleware.

    A form submitted after the logoff is not lost: once the CSRF check has passed (this
    middleware's process_view runs after CsrfViewMiddleware's), what was typed is kept in the
    new, signed-out session, and after signing in again as the same person the form's page shows
    it filled in (tracker.js), never submitted (formstash.py).
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
                user_id = user.pk
                logout(request)
                if formstash.may_stash(request):
                    # Decided in process_view, after the CSRF check.
                    request._signed_out_user_id = user_id
                    return self.get_response(request)
                return self._signed_out(request)
            if last is None or not is_background_refresh(request):
                request.session[SESSION_KEY] = now
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Here, unlike in __call__, every middleware has run (messages can be added).
        user_id = getattr(request, "_signed_out_user_id", None)
        if user_id is None:
            if request.user.is_authenticated:
                formstash.restore(request)
            return None
        # CsrfViewMiddleware has passed this request (it would have answered already); a view
        # exempt from the check (the API) is not a form of ours, so nothing is kept for it.
        if not getattr(view_func, "csrf_exempt", False):
            formstash.stash(request, user_id)
        return self._signed_out(request)

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
