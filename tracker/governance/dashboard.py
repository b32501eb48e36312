"""The overdue dashboard's three lists: one query per list, then one query for the last
attempt and one for the latest escalation of every finding shown (five queries whatever the
volume; a sixth per section only when a section holds more than ROWS_PER_SECTION rows, to count
them).

The last attempt and escalation were once six correlated subqueries in each list query:
PostgreSQL then spent ~2.5 ms planning each list for 0.4 ms of execution, and Django as long
again compiling them (docs/benchmarks.md, issue 5). Two lookups by finding id for all the
rows shown are cheaper to plan and to compile."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Case, F, IntegerField, Value, When, Window
from django.db.models.functions import RowNumber

from ..access import visible_findings
from ..models import (
    Category,
    Channel,
    CommunicationAttempt,
    Escalation,
    EscalationStatus,
    EscalationStep,
    Finding,
    Outcome,
)

ROWS_PER_SECTION = 100
# Within each list, critical findings first (the worklists' clinical priority).
CRITICAL_FIRST = Case(
    When(category=Category.CRITICAL, then=Value(0)), default=Value(1), output_field=IntegerField()
)
DUE_SOON = timedelta(hours=1)


def _latest_per_finding(queryset, finding_ids, fields, order_by):
    """{finding id: {field: value}} for the newest row of each finding (one query)."""
    ranked = (
        queryset.filter(finding_id__in=finding_ids)
        .values("finding_id", *fields)
        .annotate(newest=Window(RowNumber(), partition_by=F("finding_id"), order_by=order_by))
        .filter(newest=1)
    )
    return {row["finding_id"]: row for row in ranked}


def attach_last_attempt_and_escalation(findings):
    """Set last_attempt_* and escalation_* (display names) on each finding."""
    ids = [f.pk for f in findings]
    attempts = _latest_per_finding(
        CommunicationAttempt.objects,
        ids,
        ("attempted_at", "channel", "outcome"),
        [F("attempted_at").desc(), F("pk").desc()],
    )
    escalations = _latest_per_finding(
        Escalation.objects,
        ids,
        ("step", "status", "sent_at"),
        [F("created_at").desc(), F("pk").desc()],
    )
    channels, outcomes = dict(Channel.choices), dict(Outcome.choices)
    steps, statuses = dict(EscalationStep.choices), dict(EscalationStatus.choices)
    for f in findings:
        attempt = attempts.get(f.pk, {})
        f.last_attempt_at = attempt.get("attempted_at")
        f.last_attempt_channel = channels.get(attempt.get("channel"), "")
        f.last_attempt_outcome = outcomes.get(attempt.get("outcome"), "")
        escalation = escalations.get(f.pk, {})
        f.escalation_step = steps.get(escalation.get("step"))
        f.escalation_status = statuses.get(escalation.get("status"), "")
        f.escalation_at = escalation.get("sent_at")


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
            visible.overdue(now).order_by(CRITICAL_FIRST, "contact_due_at", "pk"),
            "contact_due_at",
        ),
        (
            "due_soon",
            "Due in the next hour",
            "Awaiting contact, deadline within 60 minutes.",
            visible.due_within(DUE_SOON, now).order_by(CRITICAL_FIRST, "contact_due_at", "pk"),
            "contact_due_at",
        ),
        (
            "unacknowledged",
            "Communicated, acknowledgement overdue",
            "Read back to the clinician, not acknowledged within the window.",
            visible.acknowledgement_overdue(now).order_by(
                CRITICAL_FIRST, "acknowledgement_due_at", "pk"
            ),
            "acknowledgement_due_at",
        ),
    ]
    sections = []
    for key, title, explanation, queryset, late_field in specs:
        rows = list(
            queryset.select_related("exam", "flagged_by", "responsible_clinician__department")[
                :ROWS_PER_SECTION
            ]
        )
        for row in rows:
            row.lateness = now - getattr(row, late_field)
        # Count only a full section: one query per section in the usual case.
        total = len(rows) if len(rows) < ROWS_PER_SECTION else queryset.count()
        sections.append(Section(key, title, explanation, rows, total, late_field))
    attach_last_attempt_and_escalation([row for s in sections for row in s.rows])
    return sections
