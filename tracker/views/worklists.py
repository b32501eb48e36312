"""The lists people work from: the radiologist's open communications, the referrer's inbox,
and every open finding (governance, read-only). Each refreshes itself through htmx."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from .. import clock, selectors
from ..models import Role
from ..templatetags.clinical import deadline_context
from .base import signed_in

REFRESH_SECONDS = 30


@dataclass(frozen=True)
class Row:
    finding: object
    deadline: dict
    escalation: object


def _render(request, template, title, findings, now, **extra):
    """`now` is the moment the list was read: the order and every label use the same one, so
    no row is sorted as overdue and labelled with time left."""
    context = {
        "title": title,
        "rows": [
            Row(f, deadline_context(f, now), selectors.latest_escalation(f)) for f in findings
        ],
        "now": now,
        "refresh_seconds": REFRESH_SECONDS,
        "limit": selectors.WORKLIST_LIMIT,
        **extra,
    }
    if request.htmx:
        return render(request, "tracker/partials/worklist_table.html", context)
    return render(request, template, context)


@signed_in
def worklist(request):
    """'My open communications' (or the department's, with ?scope=department)."""
    if not request.user.has_role(Role.RADIOLOGIST):
        raise PermissionDenied("The worklist is for radiologists.")
    scope = "department" if request.GET.get("scope") == "department" else "mine"
    now = clock.now()
    rows = selectors.radiologist_worklist(request.user, now, scope=scope)
    title = "My open communications" if scope == "mine" else "Department's open communications"
    return _render(
        request, "tracker/worklist.html", title, rows, now, scope=scope, audience="radiologist"
    )


@signed_in
def inbox(request):
    if not request.user.has_role(Role.REFERRER):
        raise PermissionDenied("The inbox is for referring clinicians.")
    now = clock.now()
    rows = selectors.referrer_inbox(request.user, now)
    return _render(request, "tracker/inbox.html", "Inbox", rows, now, audience="referrer")


@signed_in
def open_findings(request):
    """Every open finding the user may see: for governance, all of them, read-only."""
    now = clock.now()
    rows = selectors.open_findings(request.user, now)
    return _render(
        request, "tracker/open_findings.html", "Open findings", rows, now, audience="all"
    )
