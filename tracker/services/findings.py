"""Every change of a finding's state, one function each.

Each service: takes the acting user, checks permission (tracker.access), validates, locks the
finding, writes history naming the actor, and runs in one transaction. Views, the API, HL7 ingest
and Celery tasks all come through here.
"""

from django.conf import settings
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
    Department,
    Exam,
    Finding,
    Handover,
    HandoverKind,
    Outcome,
    PlannedAction,
    Role,
    Status,
    User,
)
from ..models.findings import OPEN_STATUSES
from . import exams as exam_services
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


def radiology_duty_account():
    """Who owns an unrouted result when no radiologist is known: the site's radiology duty
    account (setting RADIOLOGY_DUTY_USERNAME), created on first use in the Radiology department
    so that the department's radiologists see and route its findings. It has no usable
    password until the site gives it one."""
    user = User.objects.filter(username=settings.RADIOLOGY_DUTY_USERNAME).first()
    if user is not None:
        return user
    department, _ = Department.objects.get_or_create(
        code="radiology", defaults={"name": "Radiology"}
    )
    user = User(
        username=settings.RADIOLOGY_DUTY_USERNAME,
        first_name="Radiology",
        last_name="duty radiologist",
        role=Role.RADIOLOGIST,
        department=department,
        grade="Duty rota",
    )
    user.set_unusable_password()
    user._change_reason = "Created to own unrouted results"
    user.save()
    return user


def _router_for(finding, candidates):
    """The radiologist who must route an unrouted finding: the first active, human radiologist
    of `candidates`, else the radiology duty account. Never an integration account."""
    for person in candidates:
        usable = person is not None and person.has_role(Role.RADIOLOGIST)
        if usable and not access.is_system_account(person):
            return person
    return radiology_duty_account()


def _accountable_referrer(person, field):
    if person is None:
        return None
    if access.is_system_account(person) or not person.has_role(Role.REFERRER):
        raise ValidationError({field: f"{person} is not an active referring clinician."})
    return person


def _flag_time(flagged_at, at):
    """When the result was identified: the server's now, or an earlier result time from the
    sender (a result queued in an outage arrives already late and escalates at once)."""
    if flagged_at is None or flagged_at > at:
        return at
    return flagged_at


def finding_flag(
    *,
    actor,
    accession_number,
    category,
    description,
    responsible_clinician=None,
    reporting_radiologist=None,
    flagged_at=None,
    submission_key=None,
    confirm_second_open=False,
):
    """Flag a finding on a registered exam.

    The result is never refused for a routing problem: with no responsible clinician given and
    the exam's ordering clinician unknown or not an active referrer, it is accepted *unrouted*,
    owned by the reporting radiologist (or the radiology duty account), and its clock runs.
    """
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
    responsible = _accountable_referrer(responsible_clinician, "responsible_clinician")
    ordering = exam.ordering_clinician
    if responsible is None and ordering is not None and ordering.has_role(Role.REFERRER):
        responsible = ordering
    if not confirm_second_open:
        open_finding = exam.findings.open().order_by("flagged_at").first()
        if open_finding is not None:
            raise ValidationError(
                {
                    "accession_number": ValidationError(
                        f"This exam already has an open {open_finding.get_category_display()} "
                        f"finding (#{open_finding.pk}, flagged "
                        f"{open_finding.flagged_at:%d %b %Y %H:%M} UTC): open it, or confirm "
                        "that this is a second, separate finding.",
                        code="second_open_finding",
                        params={"finding": open_finding.pk},
                    )
                }
            )

    def create():
        at = now()
        finding = Finding(
            exam=exam,
            category=category,
            description=description,
            flagged_by=actor,
            flagged_at=_flag_time(flagged_at, at),
            responsible_clinician=responsible or _router_for(None, [reporting_radiologist, actor]),
            unrouted=responsible is None,
            submission_key=submission_key,
        )
        apply_policy(finding, CommunicationPolicy.for_category(category))
        reason = "Flagged" if responsible else "Flagged: unrouted (no known ordering clinician)"
        return save_with_history(finding, actor, reason)

    return once(Finding, submission_key, create)


def result_flag(
    *,
    actor,
    accession_number,
    category,
    description,
    patient=None,
    exam=None,
    **flag_options,
):
    """Register (or update) the patient and exam when their details are given, then flag: the
    one path the flag screen, the REST API and HL7 ingest share."""
    require(access.can_flag(actor), "Only a radiologist can flag a finding.")
    with transaction.atomic():
        if exam is not None:
            exam_services.result_register(
                actor=actor, accession_number=accession_number, patient=patient, exam=exam
            )
        return finding_flag(
            actor=actor,
            accession_number=accession_number,
            category=category,
            description=description,
            **flag_options,
        )


def patient_shown(finding):
    """The patient and exam as shown to the caller now (kept on the attempt)."""
    exam = finding.exam
    patient = exam.patient
    name = f"{patient.family_name.upper()}, {patient.given_name}".strip(", ")
    return f"{name} ({patient.identifier}); {exam.accession_number} {exam}"[:400]


def _call_time(attempted_at, finding, at):
    """When the call happened: now unless the caller says earlier; never in the future, never
    before the finding was flagged."""
    if attempted_at is None:
        return at
    if attempted_at > at:
        raise ValidationError({"attempted_at": "The call cannot be in the future."})
    if attempted_at < finding.flagged_at:
        raise ValidationError(
            {"attempted_at": "The call cannot be before the finding was flagged."}
        )
    return attempted_at


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
    attempted_at=None,
    planned_action="",
    planned_action_note="",
    submission_key=None,
):
    """Record a call (or message) attempt. One that qualifies under the category's policy
    communicates the finding, and always leaves someone able to act on it:
    - reaching a referring clinician who is not accountable makes them responsible ("I reached
      Dr X": a re-route recorded with the call), which also routes an unrouted finding;
    - reaching a clinician without an account (named, with role and number) who states the
      planned action records that read-back as their verbal acknowledgement.
    """
    _choice(channel, Channel, "channel", "channel")
    _choice(outcome, Outcome, "outcome", "outcome")
    contact_name = (contact_name or "").strip()
    if contacted_user is None and not contact_name:
        raise ValidationError(
            {"contact_name": "Name the person you called, or choose them from the list."}
        )
    if planned_action:
        _choice(planned_action, PlannedAction, "planned_action", "planned action")

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
        recorded = now()
        at = _call_time(attempted_at, locked, recorded)
        policy = CommunicationPolicy.for_category(locked.category)
        counts, why_not = policy.contact_verdict(channel, outcome)
        attempt = CommunicationAttempt(
            finding=locked,
            caller=actor,
            attempted_at=at,
            recorded_at=recorded,
            contacted_user=contacted_user,
            contact_name=contact_name if contacted_user is None else "",
            contact_role=(contact_role or "").strip(),
            contact_number=(contact_number or "").strip(),
            channel=channel,
            outcome=outcome,
            counts_as_communication=counts,
            not_counted_reason=why_not,
            patient_shown=patient_shown(locked),
            notes=(notes or "").strip(),
            submission_key=submission_key,
        )
        if not (counts and locked.status == Status.AWAITING_CONTACT):
            return save_with_history(attempt, actor, "Call logged")
        verbal = _who_now_acts(locked, actor, attempt, planned_action)
        _communicate(locked, at, breach_reason, breach_reason_text)
        save_with_history(attempt, actor, "Call logged")
        how = attempt.get_channel_display()
        read_back = ", read back" if outcome == Outcome.READ_BACK else ""
        save_with_history(locked, actor, f"Communicated ({how}{read_back})")
        if verbal:
            _acknowledge(
                locked,
                actor,
                planned_action,
                planned_action_note,
                verbal_attempt=attempt,
                reason=f"Acknowledged verbally by {contact_name}",
            )
        return attempt

    return once(CommunicationAttempt, submission_key, create)


def _who_now_acts(locked, actor, attempt, planned_action):
    """Before a qualifying contact communicates the finding: make sure someone can act on it.
    Returns True when the contact is a clinician without an account whose read-back stands as
    their verbal acknowledgement."""
    person = attempt.contacted_user
    if person is not None:
        if access.is_system_account(person) or not person.has_role(Role.REFERRER):
            raise ValidationError(
                {
                    "contacted_user": f"{person} is not a referring clinician. Choose the "
                    "clinician who read it back, or record them by name, role and number."
                }
            )
        if locked.unrouted or not access.is_accountable_for(person, locked):
            reason = f"Read back by {person.display_name} on the call logged by {actor}"
            _change_responsible(locked, actor, person, HandoverKind.REROUTED, reason, None)
            locked.unrouted = False
        return False
    # A clinician without an account.
    if not planned_action:
        if locked.unrouted:
            raise ValidationError(
                {
                    "planned_action": f"{attempt.contact_name} has no account here, so nobody "
                    "else can acknowledge this finding: record the action they said they "
                    "will take (their read-back stands as their acknowledgement), or choose "
                    "a clinician from the list."
                }
            )
        return False
    if not (attempt.contact_role and attempt.contact_number):
        raise ValidationError(
            {
                "contact_role": "Give the role and a number for a clinician without an account.",
            }
        )
    locked.unrouted = False
    return True


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
                {
                    "status": "Cannot acknowledge: no read-back or other qualifying contact "
                    "has been recorded yet."
                }
            )
        return _acknowledge(locked, actor, planned_action, note, submission_key=submission_key)

    return once(Acknowledgement, submission_key, create)


def _acknowledge(
    locked, actor, planned_action, note, *, verbal_attempt=None, submission_key=None, reason=""
):
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
        verbal_attempt=verbal_attempt,
        submission_key=submission_key,
    )
    save_with_history(ack, actor, reason or "Acknowledged")
    locked.status = Status.ACKNOWLEDGED
    locked.acknowledged_at = at
    label = reason or "Acknowledged"
    save_with_history(locked, actor, f"{label}: {ack.get_planned_action_display()}")
    return ack


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
    """Pass accountability to one named colleague, with a reason (this also routes an unrouted
    finding)."""
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
        _accountable_referrer(to_clinician, "to_clinician")
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
        locked.unrouted = False
        save_with_history(
            locked, actor, f"{handover.get_kind_display()} to {to_clinician}: {reason}"
        )
        return handover

    return once(Handover, submission_key, create)


def finding_route(*, actor, finding, to_clinician, reason, submission_key=None):
    """Route an unrouted finding (orderer unknown, or declined) to the accountable referrer."""
    require(access.can_route(actor, finding), "You cannot route this finding.")
    if not finding.unrouted:
        raise ValidationError({"status": "This finding already has a responsible clinician."})
    return finding_hand_over(
        actor=actor,
        finding=finding,
        to_clinician=to_clinician,
        reason=reason,
        submission_key=submission_key,
    )


def finding_decline(*, actor, finding, reason, submission_key=None):
    """'Not my patient': the finding becomes unrouted, owned by the flagging radiologist (or the
    radiology duty account), who routes it, by itself or in the same step as logging the next
    call ("I reached Dr X").

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
        owner = _router_for(locked, [locked.flagged_by])
        handover = _change_responsible(
            locked, actor, owner, HandoverKind.DECLINED, reason, submission_key
        )
        locked.unrouted = True
        if locked.status == Status.COMMUNICATED:
            check_transition(locked, Status.AWAITING_CONTACT, "return to awaiting contact")
            _reopen_contact(locked)
        save_with_history(locked, actor, f"Declined: {reason}")
        return handover

    return once(Handover, submission_key, create)


def _reopen_contact(locked):
    locked.status = Status.AWAITING_CONTACT
    locked.communicated_at = None
    locked.acknowledgement_due_at = None
    locked.breach_reason = ""
    locked.breach_reason_text = ""


def finding_recategorise(*, actor, finding, category, reason):
    """Change the category; the deadline is recomputed from the original flag time.

    A finding already communicated stays communicated only if that contact qualifies under the
    new category's policy (a routine finding emailed, then made critical, needs a read-back);
    otherwise contact is re-opened and the earlier contact stays on the timeline."""
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
        policy = CommunicationPolicy.for_category(category)
        note = ""
        if locked.status == Status.COMMUNICATED:
            contact = locked.attempts.filter(counts_as_communication=True).order_by("-attempted_at")
            contact = contact.first()
            if contact is None or not policy.counts_as_communicated(
                contact.channel, contact.outcome
            ):
                _reopen_contact(locked)
                note = ". Contact re-opened: the earlier contact does not qualify for this category"
        apply_policy(locked, policy)
        if locked.was_communicated_late and not locked.breach_reason:
            locked.breach_reason = BreachReason.OTHER
            locked.breach_reason_text = (
                f"Contacted as {old.lower()}, before it was recategorised {category}: "
                "after the new category's deadline."
            )
        return save_with_history(
            locked,
            actor,
            f"Recategorised {old} → {locked.get_category_display()}: {reason}{note}",
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
