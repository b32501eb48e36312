"""Status transitions, read-back rules, accountability, and double submits."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tracker.models import (
    Acknowledgement,
    Channel,
    CommunicationAttempt,
    Finding,
    Handover,
    HandoverKind,
    Outcome,
    PlannedAction,
    Status,
)
from tracker.services import findings as services

from .factories import ReferrerFactory

pytestmark = pytest.mark.django_db


def call(finding, actor, channel=Channel.PHONE, outcome=Outcome.READ_BACK, **kwargs):
    kwargs.setdefault("contacted_user", finding.responsible_clinician)
    return services.attempt_log(
        actor=actor, finding=finding, channel=channel, outcome=outcome, **kwargs
    )


def acknowledge(finding, actor, **kwargs):
    return services.finding_acknowledge(
        actor=actor, finding=finding, planned_action=PlannedAction.ADMITTED, **kwargs
    )


def refused(exc_info, field):
    return exc_info.value.message_dict[field][0]


# --- the whole loop -------------------------------------------------------------------------


def test_it_walks_the_loop_flagged_communicated_acknowledged_closed(
    clock, flag, radiologist, referrer
):
    finding = flag("critical")
    assert finding.status == Status.AWAITING_CONTACT
    call(finding, radiologist, outcome=Outcome.NO_ANSWER)
    finding.refresh_from_db()
    assert finding.status == Status.AWAITING_CONTACT  # a failed attempt leaves it open
    clock.shift(timedelta(minutes=12))
    call(finding, radiologist)
    finding.refresh_from_db()
    assert finding.status == Status.COMMUNICATED
    ack = acknowledge(finding, referrer, note="Chest drain now")
    finding.refresh_from_db()
    assert finding.status == Status.ACKNOWLEDGED
    assert finding.acknowledged_at == ack.acknowledged_at
    services.finding_close(actor=referrer, finding=finding)
    finding.refresh_from_db()
    assert finding.status == Status.CLOSED
    assert finding.closed_at is not None


# --- refused transitions, each with a clear message -------------------------------------------


def test_acknowledging_before_read_back_is_refused(clock, flag, referrer):
    finding = flag("critical")
    with pytest.raises(ValidationError) as exc:
        acknowledge(finding, referrer)
    assert refused(exc, "status") == (
        "Cannot acknowledge: no read-back or other qualifying contact has been recorded yet."
    )
    assert not Acknowledgement.objects.exists()


def test_acknowledging_a_cancelled_finding_is_refused_and_changes_nothing(
    clock, flag, radiologist, referrer
):
    finding = flag("critical")
    call(finding, radiologist)
    services.finding_cancel(actor=radiologist, finding=finding, reason="Duplicate")
    with pytest.raises(ValidationError) as exc:
        acknowledge(finding, referrer)
    assert refused(exc, "status") == "Cannot acknowledge: the finding is cancelled."
    finding.refresh_from_db()
    assert finding.status == Status.CANCELLED
    assert not Acknowledgement.objects.exists()


def test_closing_before_acknowledgement_is_refused(clock, flag, radiologist):
    finding = flag("critical")
    with pytest.raises(ValidationError) as exc:
        services.finding_close(actor=radiologist, finding=finding)
    assert refused(exc, "status") == "Cannot close: the finding is awaiting contact."


def test_a_call_on_a_closed_finding_is_refused(clock, flag, radiologist, referrer):
    finding = flag("critical")
    call(finding, radiologist)
    acknowledge(finding, referrer)
    services.finding_close(actor=referrer, finding=finding)
    with pytest.raises(ValidationError) as exc:
        call(finding, radiologist)
    assert refused(exc, "status") == "Cannot log a call: the finding is closed."


def test_an_entered_in_error_finding_cannot_be_cancelled(clock, flag, radiologist):
    finding = flag("critical")
    services.finding_mark_entered_in_error(actor=radiologist, finding=finding, reason="Wrong pt")
    with pytest.raises(ValidationError) as exc:
        services.finding_cancel(actor=radiologist, finding=finding, reason="x")
    assert refused(exc, "status") == "Cannot mark it cancelled: the finding is entered in error."


def test_cancelling_needs_a_reason(clock, flag, radiologist):
    finding = flag("critical")
    with pytest.raises(ValidationError) as exc:
        services.finding_cancel(actor=radiologist, finding=finding, reason="  ")
    assert "reason" in exc.value.message_dict
    finding.refresh_from_db()
    assert finding.status == Status.AWAITING_CONTACT


def test_nothing_is_deleted_a_voided_finding_stays_with_its_reason(clock, flag, radiologist):
    finding = flag("critical")
    services.finding_mark_entered_in_error(
        actor=radiologist, finding=finding, reason="Wrong patient"
    )
    finding.refresh_from_db()
    assert finding.status == Status.ENTERED_IN_ERROR
    assert finding.void_reason == "Wrong patient"
    assert Finding.objects.filter(pk=finding.pk).exists()


# --- read-back rules per category -------------------------------------------------------------


@pytest.mark.parametrize(
    "category, channel, outcome, communicated",
    [
        ("critical", Channel.PHONE, Outcome.READ_BACK, True),
        ("critical", Channel.IN_PERSON, Outcome.READ_BACK, True),
        ("critical", Channel.PHONE, Outcome.REACHED_NO_READ_BACK, False),
        ("critical", Channel.SECURE_MESSAGE, Outcome.REACHED_NO_READ_BACK, False),
        ("critical", Channel.EMAIL, Outcome.REACHED_NO_READ_BACK, False),
        ("critical", Channel.BLEEP, Outcome.READ_BACK, False),
        ("critical", Channel.PHONE, Outcome.VOICEMAIL, False),
        ("critical", Channel.PHONE, Outcome.WRONG_PERSON, False),
        ("significant", Channel.PHONE, Outcome.READ_BACK, True),
        ("significant", Channel.SECURE_MESSAGE, Outcome.REACHED_NO_READ_BACK, True),
        ("significant", Channel.PHONE, Outcome.REACHED_NO_READ_BACK, False),
        ("significant", Channel.EMAIL, Outcome.REACHED_NO_READ_BACK, False),
        ("routine", Channel.EMAIL, Outcome.REACHED_NO_READ_BACK, True),
        ("routine", Channel.PHONE, Outcome.REACHED_NO_READ_BACK, True),
        ("routine", Channel.PHONE, Outcome.NO_ANSWER, False),
    ],
)
def test_read_back_rules_per_category(
    clock, flag, radiologist, category, channel, outcome, communicated
):
    finding = flag(category)
    attempt = call(finding, radiologist, channel=channel, outcome=outcome)
    finding.refresh_from_db()
    assert attempt.counts_as_communication is communicated
    expected = Status.COMMUNICATED if communicated else Status.AWAITING_CONTACT
    assert finding.status == expected


# --- recategorisation -----------------------------------------------------------------------


def test_recategorising_recomputes_the_deadline_from_the_original_flag_time(
    clock, flag, radiologist
):
    finding = flag("significant")
    clock.shift(timedelta(minutes=20))
    services.finding_recategorise(
        actor=radiologist, finding=finding, category="critical", reason="Enlarging on review"
    )
    finding.refresh_from_db()
    assert finding.category == "critical"
    assert finding.contact_due_at == finding.flagged_at + timedelta(hours=1)
    latest = finding.history.first()
    assert latest.history_change_reason == (
        "Recategorised Significant → Critical: Enlarging on review"
    )
    assert latest.history_user == radiologist


def test_recategorising_needs_a_reason_and_a_valid_category(clock, flag, radiologist):
    finding = flag("significant")
    with pytest.raises(ValidationError) as exc:
        services.finding_recategorise(actor=radiologist, finding=finding, category="x", reason="r")
    assert "category" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.finding_recategorise(
            actor=radiologist, finding=finding, category="critical", reason=""
        )
    assert "reason" in exc.value.message_dict
    finding.refresh_from_db()
    assert finding.category == "significant"


# --- exactly one accountable clinician ----------------------------------------------------------


def test_hand_over_moves_accountability_to_one_colleague_with_a_record(clock, flag, referrer):
    finding = flag("critical")
    colleague = ReferrerFactory(username="colleague")
    services.finding_hand_over(
        actor=referrer, finding=finding, to_clinician=colleague, reason="End of shift"
    )
    finding.refresh_from_db()
    assert finding.responsible_clinician == colleague
    handover = Handover.objects.get(finding=finding)
    assert (handover.kind, handover.from_clinician, handover.made_by) == (
        HandoverKind.HANDOVER,
        referrer,
        referrer,
    )
    # The previous clinician can no longer acknowledge; the new one can.
    with pytest.raises(PermissionDenied):
        acknowledge(finding, referrer)


def test_hand_over_to_the_same_clinician_or_without_reason_is_refused(clock, flag, referrer):
    finding = flag("critical")
    with pytest.raises(ValidationError) as exc:
        services.finding_hand_over(
            actor=referrer, finding=finding, to_clinician=referrer, reason="x"
        )
    assert "to_clinician" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.finding_hand_over(
            actor=referrer, finding=finding, to_clinician=ReferrerFactory(), reason=""
        )
    assert "reason" in exc.value.message_dict
    assert not Handover.objects.exists()


def test_declining_returns_it_to_the_radiologist_and_the_clock_keeps_running(
    clock, flag, radiologist, referrer
):
    finding = flag("critical")
    due = finding.contact_due_at
    call(finding, radiologist)
    clock.shift(timedelta(minutes=5))
    services.finding_decline(actor=referrer, finding=finding, reason="Not my patient")
    finding.refresh_from_db()
    assert finding.responsible_clinician == radiologist
    assert finding.is_returned_to_radiologist
    assert finding.status == Status.AWAITING_CONTACT
    assert finding.communicated_at is None
    assert finding.contact_due_at == due
    # The radiologist re-routes to the right clinician.
    right = ReferrerFactory(username="right-one")
    services.finding_hand_over(
        actor=radiologist, finding=finding, to_clinician=right, reason="Surgical team"
    )
    finding.refresh_from_db()
    assert finding.responsible_clinician == right
    assert list(finding.handovers.values_list("kind", flat=True)) == [
        HandoverKind.DECLINED,
        HandoverKind.REROUTED,
    ]


def test_the_covering_colleague_can_acknowledge(clock, flag, radiologist, referrer):
    cover = ReferrerFactory(username="cover")
    referrer.covering_colleague = cover
    referrer.save()
    finding = flag("critical")
    call(finding, radiologist)
    ack = acknowledge(finding, cover)
    assert ack.acknowledged_by == cover


# --- permissions ------------------------------------------------------------------------------


def test_a_stranger_cannot_acknowledge_or_hand_over(clock, flag, radiologist, stranger):
    finding = flag("critical")
    call(finding, radiologist)
    with pytest.raises(PermissionDenied):
        acknowledge(finding, stranger)
    with pytest.raises(PermissionDenied):
        services.finding_hand_over(
            actor=stranger, finding=finding, to_clinician=stranger, reason="mine now"
        )
    finding.refresh_from_db()
    assert finding.status == Status.COMMUNICATED


def test_a_referrer_cannot_flag_or_log_calls(clock, flag, referrer):
    with pytest.raises(PermissionDenied):
        flag("critical", actor=referrer)
    finding = flag("critical")
    with pytest.raises(PermissionDenied):
        call(finding, referrer)
    assert not CommunicationAttempt.objects.exists()


def test_governance_can_cancel_but_never_acts_as_a_clinician(clock, flag, governance, referrer):
    finding = flag("critical")
    with pytest.raises(PermissionDenied):
        call(finding, governance)
    with pytest.raises(PermissionDenied):
        services.finding_hand_over(
            actor=governance, finding=finding, to_clinician=referrer, reason="x"
        )
    services.finding_cancel(actor=governance, finding=finding, reason="Duplicate of #12")
    finding.refresh_from_db()
    assert finding.status == Status.CANCELLED


# --- double submits -------------------------------------------------------------------------


def test_a_double_submit_records_once_for_every_action(clock, flag, radiologist, referrer):
    key = uuid.uuid4()
    first = flag("critical", submission_key=key)
    assert flag("critical", submission_key=key) == first
    assert Finding.objects.count() == 1

    key = uuid.uuid4()
    call(finding := first, radiologist, outcome=Outcome.NO_ANSWER, submission_key=key)
    call(finding, radiologist, outcome=Outcome.NO_ANSWER, submission_key=key)
    assert finding.attempts.count() == 1

    key = uuid.uuid4()
    call(finding, radiologist, submission_key=key)
    call(finding, radiologist, submission_key=key)
    assert finding.attempts.count() == 2

    key = uuid.uuid4()
    assert acknowledge(finding, referrer, submission_key=key) == acknowledge(
        finding, referrer, submission_key=key
    )
    assert Acknowledgement.objects.count() == 1
    services.finding_close(actor=referrer, finding=finding)
    services.finding_close(actor=referrer, finding=finding)
    assert finding.history.filter(status=Status.CLOSED).count() == 1


def test_a_second_acknowledgement_without_key_is_refused_not_recorded(
    clock, flag, radiologist, referrer
):
    finding = flag("critical")
    call(finding, radiologist)
    acknowledge(finding, referrer)
    with pytest.raises(ValidationError) as exc:
        acknowledge(finding, referrer)
    assert refused(exc, "status") == "Cannot acknowledge: the finding is acknowledged."
    assert Acknowledgement.objects.count() == 1
