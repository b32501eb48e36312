"""Keep a form submitted after the inactivity logoff, and put it back after signing in.

The middleware (middleware.InactivityLogoutMiddleware) calls `stash` only for a request whose
CSRF check has passed: what is kept came from one of our own pages. It is kept in the new
(signed-out) session, which Django carries over when the same browser signs in, with the id of
the person who typed it. On that person's first full page after signing in, `restore` takes it
out of the session: if the page is the form's own, it is handed to the template (base.html) and
tracker.js fills the form in, never submitting it. Someone else signing in on the same computer
gets nothing, and nothing stays in the session longer than that one page.
"""

import json
import time

from django.contrib import messages

SESSION_KEY = "tracker_stashed_form"
MAX_BYTES = 64 * 1024  # a clinical form, not an upload
MAX_AGE_SECONDS = 60 * 60
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Never kept: the CSRF token (a new one comes with the new page) and anything secret.
NEVER_KEPT = ("csrfmiddlewaretoken",)


def may_stash(request):
    """A plain form POST from a page (not htmx, not polling, not an upload)."""
    if request.method != "POST" or request.content_type not in FORM_TYPES:
        return False
    if request.headers.get("HX-Request") == "true" or request.FILES:
        return False
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length <= MAX_BYTES


def stash(request, user_id):
    fields = {
        name: values
        for name, values in request.POST.lists()
        if name not in NEVER_KEPT and "password" not in name.lower()
    }
    request.session[SESSION_KEY] = {
        "path": request.path,
        "user": user_id,
        "at": time.time(),
        "fields": fields,
    }
    # What was typed may name a patient: the signed-out session holding it lasts an hour, not
    # the default two weeks, if nobody signs in again (`clearsessions` then removes it).
    request.session.set_expiry(MAX_AGE_SECONDS)
    messages.warning(
        request,
        "You were signed out after a period without activity, so the form was not sent. "
        "Sign in again: what you typed is kept and will be put back in the form for you to "
        "check and send.",
    )


def restore(request):
    """On the first full page after signing in: the kept form, if this is its page and the
    same person. Sets request.restored_form (JSON text) for base.html."""
    if request.method != "GET" or request.headers.get("HX-Request") == "true":
        return
    kept = request.session.get(SESSION_KEY)
    if kept is None:
        return
    del request.session[SESSION_KEY]
    request.session.set_expiry(None)  # back to the site's rule (ends when the browser closes)
    fresh = time.time() - kept.get("at", 0) <= MAX_AGE_SECONDS
    if kept.get("user") != request.user.pk or kept.get("path") != request.path or not fresh:
        return
    request.restored_form = json.dumps(kept.get("fields", {}))
    messages.info(
        request,
        "What you typed before you were signed out has been put back. Check it, then send "
        "the form again: it has not been sent.",
    )
