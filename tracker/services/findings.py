"""Every change of a finding's state, one function each.

Each service: takes the acting user, checks permission (tracker.access), validates, locks the
finding, writes history naming the actor, and runs in one transaction. Views, the API, HL7 ingest
and Celery tasks all come through here.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from .. import access
from ..models import (
    Acknowledgement,
    BreachReason,
    Category,
    Channel,
    CommunicationAttempt,
    CommunicationPolicy,
    Exam,
    Finding,
    Handover,
    HandoverKind,
    Outcome,
    PlannedAction,
    Role,
    Status,
)
from ..models.findings import OPEN_STATUSES
from .base import (
    check_transition,
    lock_finding,
    now,
    once,
    previous_submission,
    require,
    require_status,
    save_with_history,
)


def _required_text(value, field, message):
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    return value


def _choice(value, choices, field, label):
    if value not in choices.values:
        raise ValidationError({field: f"Choose a valid {label}."})
    return value


def apply_policy(finding, policy):
    """Deadlines are absolute durations from the moment the finding was flagged."""
    if policy.contact_deadline is None:
        finding.contact_due_at = finding.warning_at = None
    else:
        finding.contact_due_at = finding.flagged_at + policy.contact_deadline
        finding.warning_at = finding.flagged_at + policy.warning_offset()
    finding.acknowledgement_window = policy.acknowledgement_window
    if finding.communicated_at is not None and policy.acknowledgement_window is not None:
        finding.acknowledgement_due_at = finding.communicated_at + policy.acknowledgement_window
    else:
        finding.acknowledgement_due_at = None


def finding_flag(
    *,
    actor,
    accession_number,
    category,
    description,
    responsible_clinician=None,
    submission_key=None,
):
    require(access.can_flag(actor), "Only a radiologist can flag a finding.")
    existing = previous_submission(Finding, submission_key)
    if existing is not None:
        return existing
    accession_number = (accession_number or "").strip()
    exam = (
        Exam.objects.select_related("ordering_clinician")
        .filter(accession_number=accession_number)
        .first()
    )
    if exam is None:
        raise ValidationError(
            {"accession_number": f"No exam with accession number '{accession_number}'."}
        )
    if not category:
        raise ValidationError({"category": "Choose a category: critical, significant or routine."})
    _choice(category, Category, "category", "category")
    description = _required_text(description, "description", "Describe the finding.")
    responsible = responsible_clinician or exam.ordering_clinician
    if responsible is None:
        raise ValidationError(
            {"responsible_clinician": "The exam has no ordering clinician: choose who is."}
        )
    if not responsible.has_role(Role.REFERRER):
        raise ValidationError(
            {"responsible_clinician": f"{responsible} is not an active referring clinician."}
        )

    def create():
        finding = Finding(
            exam=exam,
            category=category,
            description=description,
            flagged_by=actor,
            flagged_at=now(),
            responsible_clinician=responsible,
            submission_key=submission_key,
        )
        apply_policy(finding, CommunicationPolicy.for_category(category))
        return save_with_history(finding, actor, "Flagged")

    return once(Finding, submission_key, create)


def attempt_log(
    *,
    actor,
    finding,
    channel,
    outcome,
    contacted_user=None,
    contact_name="",
    contact_role="",
    contact_number="",
    notes="",
    breach_reason="",
    breach_reason_text="",
    submission_key=None,
):
    """Record a call (or message) attempt. A successful one communicates the finding."""
    _choice(channel, Channel, "channel", "channel")
    _choice(outcome, Outcome, "outcome", "outcome")
    contact_name = (contact_name or "").strip()
    if contacted_user is None and not contact_name:
        raise ValidationError(
            {"contact_name": "Name the person you called, or choose them from the list."}
        )

    def create():
        locked = lock_finding(finding)
        existing = previous_submission(CommunicationAttempt, submission_key, locked)
        if existing is not None:
            return existing
        require(
            access.can_log_attempt(actor, locked),
            "Only a radiologist of the flagging department can log a call on this finding.",
        )
        require_status(locked, (Status.AWAITING_CONTACT, Status.COMMUNICATED), "log a call")
        at = now()
        policy = CommunicationPolicy.for_category(locked.category)
        counts = policy.counts_as_communicated(channel, outcome)
        attempt = CommunicationAttempt(
            finding=locked,
            caller=actor,
            attempted_at=at,
            contacted_user=contacted_user,
            contact_name=contact_name,
            contact_role=(contact_role or "").strip(),
            contact_number=(contact_number or "").strip(),
            channel=channel,
            outcome=outcome,
            counts_as_communication=counts,
            notes=(notes or "").strip(),
            submission_key=submission_key,
        )
        if counts and locked.status == Status.AWAITING_CONTACT:
            _communicate(locked, at, breach_reason, breach_reason_text)
            save_with_history(attempt, actor, "Call logged")
            save_with_history(
                locked, actor, f"Communicated ({attempt.get_channel_display()}, read back)"
            )
        else:
            save_with_history(attempt, actor, "Call logged")
        return attempt

    return once(CommunicationAttempt, submission_key, create)


def _communicate(finding, at, breach_reason, breach_reason_text):
    check_transition(finding, Status.COMMUNICATED, "record communication")
    finding.status = Status.COMMUNICATED
    finding.communicated_at = at
    if finding.acknowledgement_window is not None:
        finding.acknowledgement_due_at = at + finding.acknowledgement_window
    if finding.was_communicated_late:
        if not breach_reason:
            raise ValidationError(
                {
                    "breach_reason": "This contact is after the deadline: give the reason "
                    "for the delay."
                }
            )
        _choice(breach_reason, BreachReason, "breach_reason", "breach reason")
        if breach_reason == BreachReason.OTHER:
            _required_text(breach_reason_text, "breach_reason_text", "Describe the reason.")
        finding.breach_reason = breach_reason
        finding.breach_reason_text = (breach_reason_text or "").strip()


def finding_acknowledge(*, actor, finding, planned_action, note="", submission_key=None):
    """The accountable clinician confirms receipt and the action planned: closes the loop."""

    def create():
        locked = lock_finding(finding)
        existing = previous_submission(Acknowledgement, submission_key, locked)
        if existing is not None:
            return existing
        require(
            access.can_acknowledge(actor, locked),
            "Only the responsible clinician (or their cover) can acknowledge this finding.",
        )
        if locked.status == Status.AWAITING_CONTACT:
            raise ValidationError(
                {"status": "Cannot acknowledge: no read-back has been recorded yet."}
            )
        check_transition(locked, Status.ACKNOWLEDGED, "acknowledge")
        _choice(planned_action, PlannedAction, "planned_action", "planned action")
        clean_note = (note or "").strip()
        if planned_action == PlannedAction.OTHER and not clean_note:
            raise ValidationError({"note": "Describe the planned action."})
        at = now()
        ack = Acknowledgement(
            finding=locked,
            acknowledged_by=actor,
            acknowledged_at=at,
            planned_action=planned_action,
            note=clean_note,
            submission_key=submission_key,
        )
        save_with_history(ack, actor, "Acknowledged")
        locked.status = Status.ACKNOWLEDGED
        locked.acknowledged_at = at
        save_with_history(locked, actor, f"Acknowledged: {ack.get_planned_action_display()}")
        return ack

    return once(Acknowledgement, submission_key, create)


def _change_responsible(locked, actor, to_clinician, kind, reason, submission_key):
    handover = Handover(
        finding=locked,
        kind=kind,
        from_clinician=locked.responsible_clinician,
        to_clinician=to_clinician,
        made_by=actor,
        made_at=now(),
        reason=reason,
        submission_key=submission_key,
    )
    save_with_history(handover, actor, handover.get_kind_display())
    locked.responsible_clinician = to_clinician
    return handover


def finding_hand_over(*, actor, finding, to_clinician, reason, submission_key=None):
    """Pass accountability to one named colleague, with a reason."""
    reason = _required_text(reason, "reason", "Give a reason for the hand-over.")
    if to_clinician is None:
        raise ValidationError({"to_clinician": "Choose the colleague to hand over to."})

    def create():
        locked = lock_finding(finding)
        existing = previous_submission(Handover, submission_key, locked)
        if existing is not None:
            return existing
        require(access.can_hand_over(actor, locked), "You cannot hand over this finding.")
        require_status(locked, OPEN_STATUSES, "hand over")
        if not to_clinician.has_role(Role.REFERRER):
            raise ValidationError(
                {"to_clinician": f"{to_clinician} is not an active referring clinician."}
            )
        if to_clinician.pk == locked.responsible_clinician_id:
            raise ValidationError(
                {"to_clinician": f"{to_clinician} is already responsible for this finding."}
            )
        kind = (
            HandoverKind.HANDOVER
            if access.is_accountable_for(actor, locked)
            else HandoverKind.REROUTED
        )
        handover = _change_responsible(locked, actor, to_clinician, kind, reason, submission_key)
        save_with_history(
            locked, actor, f"{handover.get_kind_display()} to {to_clinician}: {reason}"
        )
        return handover

    return once(Handover, submission_key, create)


def finding_decline(*, actor, finding, reason, submission_key=None):
    """'Not my patient': accountability returns to the flagging radiologist to re-route.

    The contact clock keeps running; a communication to the wrong clinician no longer counts.
    """
    reason = _required_text(reason, "reason", "Say why this finding is not yours.")

    def create():
        locked = lock_finding(finding)
        existing = previous_submission(Handover, submission_key, locked)
        if existing is not None:
            return existing
        require(
            access.can_decline(actor, locked),
            "Only the responsible clinician (or their cover) can decline this finding.",
        )
        require_status(locked, (Status.AWAITING_CONTACT, Status.COMMUNICATED), "decline")
        handover = _change_responsible(
            locked, actor, locked.flagged_by, HandoverKind.DECLINED, reason, submission_key
        )
        if locked.status == Status.COMMUNICATED:
            check_transition(locked, Status.AWAITING_CONTACT, "return to awaiting contact")
            locked.status = Status.AWAITING_CONTACT
            locked.communicated_at = None
            locked.acknowledgement_due_at = None
            locked.breach_reason = ""
            locked.breach_reason_text = ""
        save_with_history(locked, actor, f"Declined: {reason}")
        return handover

    return once(Handover, submission_key, create)


def finding_recategorise(*, actor, finding, category, reason):
    """Change the category; the deadline is recomputed from the original flag time."""
    _choice(category, Category, "category", "category")
    reason = _required_text(reason, "reason", "Give the reason for the new category.")

    def change():
        locked = lock_finding(finding)
        require(access.can_recategorise(actor, locked), "You cannot recategorise this finding.")
        require_status(locked, (Status.AWAITING_CONTACT, Status.COMMUNICATED), "recategorise")
        if category == locked.category:
            # Same category again (e.g. a double submit): nothing changes, nothing is recorded.
            return locked
        old = locked.get_category_display()
        locked.category = category
        apply_policy(locked, CommunicationPolicy.for_category(category))
        return save_with_history(
            locked, actor, f"Recategorised {old} → {locked.get_category_display()}: {reason}"
        )

    with transaction.atomic():
        return change()


def _void(actor, finding, target, reason, label):
    reason = _required_text(reason, "reason", f"Give the reason it is {label}.")

    def change():
        locked = lock_finding(finding)
        require(access.can_void(actor, locked), f"You cannot mark this finding {label}.")
        if locked.status == target:
            return locked  # double submit
        check_transition(locked, target, f"mark it {label}")
        locked.status = target
        locked.void_reason = reason
        return save_with_history(locked, actor, f"{label.capitalize()}: {reason}")

    with transaction.atomic():
        return change()


def finding_cancel(*, actor, finding, reason):
    return _void(actor, finding, Status.CANCELLED, reason, "cancelled")


def finding_mark_entered_in_error(*, actor, finding, reason):
    return _void(actor, finding, Status.ENTERED_IN_ERROR, reason, "entered in error")


def finding_close(*, actor, finding, note=""):
    """The action is done: the finding leaves every worklist."""

    def change():
        locked = lock_finding(finding)
        require(access.can_close(actor, locked), "You cannot close this finding.")
        if locked.status == Status.CLOSED:
            return locked  # double submit
        check_transition(locked, Status.CLOSED, "close")
        locked.status = Status.CLOSED
        locked.closed_at = now()
        return save_with_history(locked, actor, f"Closed{': ' + note.strip() if note else ''}")

    with transaction.atomic():
        return change()
