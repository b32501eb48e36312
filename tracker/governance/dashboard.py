"""The overdue dashboard's three lists, each one query with the last attempt and the latest
escalation joined as subqueries (three queries whatever the volume; a fourth per section only
when a section holds more than ROWS_PER_SECTION rows, to count them)."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import OuterRef, Subquery

from ..access import visible_findings
from ..models import (
    Channel,
    CommunicationAttempt,
    Escalation,
    EscalationStatus,
    EscalationStep,
    Finding,
    Outcome,
)

ROWS_PER_SECTION = 100
DUE_SOON = timedelta(hours=1)


def with_last_attempt_and_escalation(queryset):
    attempts = CommunicationAttempt.objects.filter(finding=OuterRef("pk")).order_by(
        "-attempted_at", "-pk"
    )
    escalations = Escalation.objects.filter(finding=OuterRef("pk")).order_by("-created_at", "-pk")
    return queryset.for_worklist().annotate(
        last_attempt_at=Subquery(attempts.values("attempted_at")[:1]),
        last_attempt_channel=Subquery(attempts.values("channel")[:1]),
        last_attempt_outcome=Subquery(attempts.values("outcome")[:1]),
        escalation_step=Subquery(escalations.values("step")[:1]),
        escalation_status=Subquery(escalations.values("status")[:1]),
        escalation_at=Subquery(escalations.values("sent_at")[:1]),
    )


@dataclass
class Section:
    key: str
    title: str
    explanation: str
    rows: list
    total: int
    late_field: str  # the deadline this list measures against

    @property
    def more(self):
        return self.total - len(self.rows)


def overdue_sections(user, now):
    visible = visible_findings(user, Finding.objects.all())
    specs = [
        (
            "overdue",
            "Past contact deadline, no read-back",
            "Awaiting contact with the contact deadline gone.",
            visible.overdue(now).order_by("contact_due_at", "pk"),
            "contact_due_at",
        ),
        (
            "due_soon",
            "Due in the next hour",
            "Awaiting contact, deadline within 60 minutes.",
            visible.due_within(DUE_SOON, now).order_by("contact_due_at", "pk"),
            "contact_due_at",
        ),
        (
            "unacknowledged",
            "Communicated, acknowledgement overdue",
            "Read back to the clinician, not acknowledged within the window.",
            visible.acknowledgement_overdue(now).order_by("acknowledgement_due_at", "pk"),
            "acknowledgement_due_at",
        ),
    ]
    sections = []
    for key, title, explanation, queryset, late_field in specs:
        rows = list(with_last_attempt_and_escalation(queryset)[:ROWS_PER_SECTION])
        for row in rows:
            row.lateness = now - getattr(row, late_field)
            _label(row)
        # Count only a full section: one query per section in the usual case.
        total = len(rows) if len(rows) < ROWS_PER_SECTION else queryset.count()
        sections.append(Section(key, title, explanation, rows, total, late_field))
    return sections


def _label(row):
    """Display names for the codes the subqueries return."""
    row.last_attempt_channel = dict(Channel.choices).get(row.last_attempt_channel, "")
    row.last_attempt_outcome = dict(Outcome.choices).get(row.last_attempt_outcome, "")
    row.escalation_step = dict(EscalationStep.choices).get(row.escalation_step)
    row.escalation_status = dict(EscalationStatus.choices).get(row.escalation_status, "")
