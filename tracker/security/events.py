"""The structured security log: logins, failed logins, lock-outs, logoffs, permission denials.

One JSON object a line on the "tracker.security" logger. It names the account (id and username),
the source address, the path (never the query string, which can carry search terms such as a
patient's name) and the event. Never patient data, never a password.
"""

import json
import logging

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from .. import clock

logger = logging.getLogger("tracker.security")


def _client_ip(request):
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR")


def security_event(event, *, user=None, request=None, username=None, **extra):
    record = {"event": event, "at": clock.now().isoformat()}
    if user is not None and getattr(user, "is_authenticated", False):
        record["user_id"] = user.pk
        record["username"] = user.get_username()
    elif username:
        record["username"] = str(username)[:150]
    if request is not None:
        record["ip"] = _client_ip(request)
        record["method"] = request.method
        record["path"] = request.path  # no query string
    record.update(extra)
    level = logging.INFO if event in ("login", "logout") else logging.WARNING
    logger.log(level, json.dumps(record, sort_keys=True, default=str))
    return record


def _on_login(sender, request, user, **kwargs):
    security_event("login", user=user, request=request)


def _on_logout(sender, request, user, **kwargs):
    security_event("logout", user=user, request=request)


def _on_login_failed(sender, credentials, request=None, **kwargs):
    # credentials has the password already masked by Django; we keep only the username.
    security_event("login_failed", request=request, username=credentials.get("username"))


def _on_locked_out(sender, request, username, ip_address, **kwargs):
    security_event("locked_out", request=request, username=username)


def connect():
    user_logged_in.connect(_on_login, dispatch_uid="security_log_login")
    user_logged_out.connect(_on_logout, dispatch_uid="security_log_logout")
    user_login_failed.connect(_on_login_failed, dispatch_uid="security_log_login_failed")
    try:
        from axes.signals import user_locked_out
    except ImportError:  # axes not installed in this environment
        return
    user_locked_out.connect(_on_locked_out, dispatch_uid="security_log_locked_out")
