"""Reads for the screens: the worklists, each one query-bounded whatever its length.

Every list starts from `access.visible_findings`, so a user never sees a row they may not open.
"""

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    F,
    IntegerField,
    Prefetch,
    Q,
    Value,
    When,
)

from . import access
from .models import Category, Escalation, Finding, Status

WORKLIST_LIMIT = 500


def _deadline():
    """The deadline that matters now: contact while awaiting it, then acknowledgement."""
    return Case(
        When(status=Status.AWAITING_CONTACT, then="contact_due_at"),
        When(status=Status.COMMUNICATED, then="acknowledgement_due_at"),
        default=None,
        output_field=DateTimeField(),
    )


def _clinical_priority():
    """0 overdue critical, 1 critical by time left, 2 the rest overdue, 3 the rest: a critical
    result in time is still more urgent than a routine one that is late."""
    critical = Q(category=Category.CRITICAL)
    return Case(
        When(critical & Q(is_overdue=True), then=Value(0)),
        When(critical, then=Value(1)),
        When(is_overdue=True, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )


def _by_deadline():
    """Clinical priority, then the deadline that matters now (most overdue / least time left
    first), then the oldest flag."""
    return ("clinical_priority", F("current_deadline").asc(nulls_last=True), "flagged_at", "pk")


def _rows(queryset, now):
    """Worklist rows with their related people, attempt counts and escalations (fixed queries)."""
    return (
        queryset.for_worklist()
        .select_related("responsible_clinician__covering_colleague")
        .annotate(
            current_deadline=_deadline(),
            attempt_count=Count("attempts", distinct=True),
        )
        .annotate(
            is_overdue=Case(
                When(current_deadline__lt=now, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .annotate(clinical_priority=_clinical_priority())
        .prefetch_related(
            Prefetch(
                "escalations",
                queryset=Escalation.objects.select_related("recipient").order_by(
                    "-due_at", "-sequence", "-pk"
                ),
                to_attr="escalations_latest_first",
            )
        )
    )


def latest_escalation(finding):
    """The most recent escalation step of a worklist row (prefetched), or None."""
    rows = getattr(finding, "escalations_latest_first", None)
    if rows is None:
        rows = list(finding.escalations.select_related("recipient").order_by("-due_at", "-pk"))
    return rows[0] if rows else None


def radiologist_worklist(user, now, scope="mine"):
    """'My open communications', by clinical priority (_by_deadline)."""
    qs = access.visible_findings(user, Finding.objects.open())
    if scope == "mine":
        qs = qs.filter(flagged_by=user)
    return _rows(qs, now).order_by(*_by_deadline())[:WORKLIST_LIMIT]


def referrer_inbox(user, now):
    """Findings the referrer answers for now (or covers): by clinical priority, and within
    it those waiting for their acknowledgement first."""
    qs = access.visible_findings(user, Finding.objects.open()).filter(
        Q(responsible_clinician=user) | Q(responsible_clinician__covering_colleague=user)
    )
    priority = Case(
        When(status=Status.COMMUNICATED, then=Value(0)),
        When(status=Status.AWAITING_CONTACT, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        _rows(qs, now)
        .annotate(priority=priority)
        .order_by("clinical_priority", "priority", *_by_deadline()[1:])[:WORKLIST_LIMIT]
    )


def open_findings(user, now):
    """Every open finding the user may see (governance: all of them, read-only)."""
    qs = access.visible_findings(user, Finding.objects.open())
    return _rows(qs, now).order_by(*_by_deadline())[:WORKLIST_LIMIT]
