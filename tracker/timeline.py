"""The finding page's timeline, read from the audit history (django-simple-history).

Every row of the finding's history and of its attempts, acknowledgement, hand-overs and
escalations becomes one event with who and when. Rows that only mirror another record (the
finding's status moving to "acknowledged" when the Acknowledgement row is written, the
responsible clinician changing when a Handover row is written) are folded into that record's
event, so each thing that happened appears once.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .models import (
    Acknowledgement,
    CommunicationAttempt,
    CommunicationPolicy,
    Escalation,
    Exam,
    Finding,
    Handover,
    Patient,
    Status,
)
from .models.policy import WRITTEN_CHANNELS, Channel, Outcome
from .templatetags.clinical import clinical_time, local

# Where two events share a moment, the one that caused the other comes first.
ORDER = {
    "flagged": 0,
    "attempt": 1,
    "communicated": 2,
    "acknowledged": 3,
    "handover": 3,
    "status": 4,
    "escalation": 5,
    "edited": 6,
    "record": 7,
}


@dataclass
class Event:
    when: datetime
    kind: str
    title: str
    actor: object = None  # a User, or None for the system
    details: list[str] = field(default_factory=list)
    colour: str = "secondary"

    @property
    def actor_name(self):
        return self.actor.display_name if self.actor is not None else "System"

    @property
    def sort_key(self):
        return (self.when, ORDER.get(self.kind, 9))


def _changed(old, new, fields):
    return [f for f in fields if getattr(old, f) != getattr(new, f)]


def _verbose(model, name):
    name = name.removesuffix("_id")
    return str(model._meta.get_field(name).verbose_name)


def _finding_events(finding):
    rows = list(
        Finding.history.filter(id=finding.pk)
        .select_related("history_user", "responsible_clinician")
        .order_by("history_date", "history_id")
    )
    # Compare what the history keeps (scheduling fields such as next_escalation_at are not kept).
    fields = [
        f.attname
        for f in Finding.history.model._meta.concrete_fields
        if f.attname not in ("id", "submission_key") and not f.attname.startswith("history_")
    ]
    previous = None
    for row in rows:
        reason = row.history_change_reason or ""
        if row.history_type == "+":
            yield Event(
                row.history_date,
                "flagged",
                f"Flagged {row.get_category_display().lower()}",
                row.history_user,
                [row.description, f"Responsible: {row.responsible_clinician.display_name}"],
                "danger" if row.category == "critical" else "warning",
            )
        elif previous is not None:
            changed = _changed(previous, row, fields)
            if "category" in changed:  # told first: it may also have re-opened contact
                yield Event(
                    row.history_date,
                    "status",
                    f"Recategorised as {row.get_category_display().lower()}",
                    row.history_user,
                    [reason],
                    "warning",
                )
            elif "status" in changed:
                yield from _status_event(row, reason)
            elif "responsible_clinician_id" in changed:
                pass  # the Handover row tells it
            elif changed:
                names = ", ".join(_verbose(Finding, f) for f in changed)
                yield Event(
                    row.history_date,
                    "edited",
                    "Finding edited",
                    row.history_user,
                    [f"Changed: {names}", reason],
                )
        previous = row


def _status_event(row, reason):
    if row.status in (Status.ACKNOWLEDGED, Status.AWAITING_CONTACT):
        return  # the Acknowledgement / Handover (declined) row tells it
    if row.status == Status.COMMUNICATED:
        details = [reason]
        if row.breach_reason:
            text = row.get_breach_reason_display()
            if row.breach_reason_text:
                text = f"{text}: {row.breach_reason_text}"
            details.append(f"After the deadline. Reason: {text}")
        yield Event(
            row.history_date, "communicated", "Communicated", row.history_user, details, "primary"
        )
        return
    titles = {
        Status.CLOSED: ("Closed", "secondary"),
        Status.CANCELLED: ("Cancelled", "dark"),
        Status.ENTERED_IN_ERROR: ("Marked entered in error", "dark"),
    }
    title, colour = titles.get(row.status, (row.get_status_display(), "secondary"))
    yield Event(row.history_date, "status", title, row.history_user, [reason], colour)


def _attempt_events(finding):
    rows = (
        CommunicationAttempt.history.filter(finding_id=finding.pk)
        .select_related("history_user", "contacted_user")
        .order_by("history_date", "history_id")
    )
    for row in rows:
        contact = row.contacted_user.display_name if row.contacted_user_id else row.contact_name
        if row.contact_role:
            contact = f"{contact} ({row.contact_role})"
        number = f" on {row.contact_number}" if row.contact_number else ""
        noun = "Message" if row.channel in WRITTEN_CHANNELS else "Call"
        details = [f"{row.get_channel_display()} to {contact}{number}"]
        if row.notes:
            details.append(row.notes)
        if row.not_counted_reason and row.outcome in ("read_back", "reached_no_read_back"):
            details.append(f"Did not count: {row.not_counted_reason}")
        if row.recorded_at and row.recorded_at - row.attempted_at >= LATE_ENTRY:
            details.append(f"Logged later, at {local(row.recorded_at):%H:%M %Z on %d/%m/%Y}")
        if row.history_type == "+":
            ok = row.counts_as_communication
            yield Event(
                row.history_date,
                "attempt",
                f"{noun}: {row.get_outcome_display().lower()}",
                row.history_user,
                details,
                "success" if ok else "warning",
            )
        else:
            yield Event(
                row.history_date, "edited", f"{noun} record edited", row.history_user, details
            )


def _acknowledgement_events(finding):
    rows = Acknowledgement.history.filter(finding_id=finding.pk).select_related("history_user")
    for row in rows.order_by("history_date", "history_id"):
        details = [f"Planned action: {row.get_planned_action_display()}"]
        if row.note:
            details.append(f"Note: {row.note}")
        if row.history_type == "+":
            yield Event(
                row.history_date,
                "acknowledged",
                "Acknowledged",
                row.history_user,
                details,
                "success",
            )
        else:
            yield Event(
                row.history_date, "edited", "Acknowledgement edited", row.history_user, details
            )


def _handover_events(finding):
    rows = Handover.history.filter(finding_id=finding.pk).select_related(
        "history_user", "from_clinician", "to_clinician"
    )
    for row in rows.order_by("history_date", "history_id"):
        details = [
            f"From {row.from_clinician.display_name} to {row.to_clinician.display_name}",
            f"Reason: {row.reason}",
        ]
        title = row.get_kind_display() if row.history_type == "+" else "Hand-over record edited"
        yield Event(row.history_date, "handover", title, row.history_user, details, "info")


def _escalation_events(finding):
    rows = list(
        Escalation.history.filter(finding_id=finding.pk)
        .select_related("history_user", "recipient")
        .order_by("history_date", "history_id")
    )
    previous = {}
    for row in rows:
        recipient = row.recipient.display_name if row.recipient_id else "no recipient"
        details = [
            f"To {recipient}",
            f"Due {clinical_time(row.due_at)}",
            f"Status: {row.get_status_display()}",
        ]
        if row.sent_at:
            details.append(f"Sent {clinical_time(row.sent_at)}")
        step = row.get_step_display()
        if row.sequence:
            step = f"{step} (repeat {row.sequence})"
        before = previous.get(row.id)
        if row.history_type == "+" or before is None:
            title = f"Escalation: {step}"
        elif before.status != row.status:
            title = f"Escalation {row.get_status_display().lower()}: {step}"
        else:
            title = f"Escalation updated: {step}"
        colour = {"sent": "danger", "failed": "dark"}.get(row.status, "warning")
        yield Event(row.history_date, "escalation", title, row.history_user, details, colour)
        previous[row.id] = row


# What a change of the patient's or the exam's record shows, field by field (before → after).
RECORD_FIELDS = {
    Patient: ("identifier", "identifier_kind", "family_name", "given_name", "date_of_birth"),
    Exam: (
        "modality",
        "body_part",
        "description",
        "ordering_clinician_id",
        "referring_department_id",
        "location",
    ),
}


def _shown(row, attname):
    """A history row's value as people read it: choices by label, people by name."""
    value = getattr(row, attname)
    if value in (None, ""):
        return "(none)"
    if attname.endswith("_id"):
        related = getattr(row, attname.removesuffix("_id"))
        return getattr(related, "display_name", str(related))
    display = getattr(row, f"get_{attname}_display", None)
    return str(display()) if display else str(value)


def _why(reason):
    """The reason typed, without the service's own summary of the change ("Corrected (...): ")."""
    if reason.startswith("Corrected (") and "): " in reason:
        return reason.split("): ", 1)[1]
    return reason


def _record_events(finding):
    """Changes to the patient's and the exam's details since the finding was flagged: a
    correction (with its reason) or an update from the RIS, each with before and after."""
    sources = [
        (Patient, finding.exam.patient_id, "Patient details"),
        (Exam, finding.exam_id, "Exam details"),
    ]
    for model, pk, noun in sources:
        fields = [f for f in RECORD_FIELDS[model] if hasattr(model.history.model, f)]
        rows = list(
            model.history.filter(id=pk)
            .select_related("history_user")
            .order_by("history_date", "history_id")
        )
        for previous, row in zip(rows, rows[1:], strict=False):
            if row.history_date < finding.flagged_at:
                continue
            changed = [f for f in fields if getattr(previous, f) != getattr(row, f)]
            if not changed:
                continue
            reason = row.history_change_reason or ""
            corrected = reason.startswith("Corrected")
            details = [
                f"{_verbose(model, f).capitalize()}: {_shown(previous, f)} → {_shown(row, f)}"
                for f in changed
            ]
            if corrected:
                details.append(f"Reason: {_why(reason)}")
            elif reason:
                details.append(reason)
            yield Event(
                row.history_date,
                "record",
                f"{noun} {'corrected' if corrected else 'updated'}",
                row.history_user,
                details,
                "warning",
            )


def finding_timeline(finding):
    """Every event of the finding, oldest first."""
    events = [
        *_finding_events(finding),
        *_record_events(finding),
        *_attempt_events(finding),
        *_acknowledgement_events(finding),
        *_handover_events(finding),
        *_escalation_events(finding),
    ]
    return sorted(events, key=lambda e: e.sort_key)


CHANNEL_PHRASES = {
    Channel.PHONE: "by telephone",
    Channel.BLEEP: "by bleep",
    Channel.IN_PERSON: "in person",
    Channel.SECURE_MESSAGE: "by secure message",
    Channel.EMAIL: "by email",
}


def communicating_attempt(finding):
    """The attempt that communicated the finding (the read-back), or None."""
    if finding.communicated_at is None:
        return None
    return (
        finding.attempts.filter(
            counts_as_communication=True, attempted_at__lte=finding.communicated_at
        )
        .select_related("caller", "contacted_user__department")
        .order_by("-attempted_at", "-pk")
        .first()
    )


def documentation_statement(finding, attempt=None):
    """The sentence the ACR expects in the report, e.g.

    "Critical result communicated to Dr A Smith, FY2 General Surgery, by telephone at 14:32 GMT
    on 23/11/2026 by Dr B Jones; read back confirmed."
    """
    attempt = attempt or communicating_attempt(finding)
    if attempt is None:
        return ""
    if attempt.contacted_user_id:
        person = attempt.contacted_user
        whom = person.short_name
        role = attempt.contact_role or person.role_and_department
    else:
        whom, role = attempt.contact_name, attempt.contact_role
    whom = f"{whom}, {role}," if role else whom
    at = local(attempt.attempted_at)
    confirmation = (
        "read back confirmed"
        if attempt.outcome == Outcome.READ_BACK
        else "receipt documented, no read-back"
    )
    category = (
        CommunicationPolicy.objects.filter(category=finding.category)
        .values_list("label", flat=True)
        .first()
        or finding.get_category_display()
    )  # the site's own name for the category (e.g. "Urgent")
    statement = (
        f"{category} result communicated to {whom} "
        f"{CHANNEL_PHRASES.get(attempt.channel, attempt.get_channel_display())} "
        f"at {at:%H:%M %Z} on {at:%d/%m/%Y} by {attempt.caller.short_name}; {confirmation}."
    )
    if attempt.contacted_user_id is None and attempt.contact_number:
        statement = statement[:-1] + f" (contact number {attempt.contact_number})."
    verbal = getattr(attempt, "verbal_acknowledgement", None) if attempt.pk else None
    if verbal is not None:
        action = verbal.get_planned_action_display().lower()
        note = f": {verbal.note}" if verbal.note else ""
        statement += f" Acknowledged verbally; stated planned action: {action}{note}."
    if attempt.recorded_at - attempt.attempted_at >= LATE_ENTRY:
        logged = local(attempt.recorded_at)
        statement += f" Logged at {logged:%H:%M %Z} on {logged:%d/%m/%Y}."
    return statement


# A call logged this long after it happened says so in the statement.
LATE_ENTRY = timedelta(minutes=5)
