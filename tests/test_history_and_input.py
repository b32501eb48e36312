"""Every service call leaves a history row naming the actor; bad input changes nothing."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from tracker.models import (
    Acknowledgement,
    Channel,
    CommunicationAttempt,
    Finding,
    Handover,
    Outcome,
    PlannedAction,
    Status,
)
from tracker.services import exams as exam_services
from tracker.services import findings as services

from .factories import PatientFactory, ReferrerFactory

pytestmark = pytest.mark.django_db


def latest(model_instance):
    return model_instance.history.order_by("-history_id").first()


def test_every_service_call_leaves_a_history_row_naming_the_actor(
    clock, flag, radiologist, referrer
):
    colleague = ReferrerFactory(username="colleague")
    finding = flag("significant")
    assert (latest(finding).history_user, latest(finding).history_type) == (radiologist, "+")

    services.finding_recategorise(
        actor=radiologist, finding=finding, category="critical", reason="Worse on review"
    )
    assert latest(finding).history_user == radiologist

    attempt = services.attempt_log(
        actor=radiologist,
        finding=finding,
        channel=Channel.PHONE,
        outcome=Outcome.READ_BACK,
        contacted_user=referrer,
    )
    assert latest(attempt).history_user == radiologist
    finding.refresh_from_db()
    assert latest(finding).history_user == radiologist
    assert latest(finding).status == Status.COMMUNICATED

    handover = services.finding_hand_over(
        actor=referrer, finding=finding, to_clinician=colleague, reason="Going off shift"
    )
    assert latest(handover).history_user == referrer
    assert latest(finding).history_user == referrer

    ack = services.finding_acknowledge(
        actor=colleague, finding=finding, planned_action=PlannedAction.ADMITTED
    )
    assert latest(ack).history_user == colleague
    assert latest(finding).history_user == colleague

    services.finding_close(actor=colleague, finding=finding)
    assert (latest(finding).history_user, latest(finding).status) == (colleague, Status.CLOSED)

    other = flag("critical")
    services.finding_decline(actor=referrer, finding=other, reason="Not mine")
    assert latest(other).history_user == referrer
    services.finding_cancel(actor=radiologist, finding=other, reason="Duplicate")
    assert (latest(other).history_user, latest(other).history_change_reason) == (
        radiologist,
        "Cancelled: Duplicate",
    )
    third = flag("routine")
    services.finding_mark_entered_in_error(actor=radiologist, finding=third, reason="Wrong pt")
    assert latest(third).history_user == radiologist


def test_history_keeps_before_and_after(clock, flag, radiologist):
    finding = flag("significant")
    clock.shift(timedelta(minutes=1))
    services.finding_recategorise(
        actor=radiologist, finding=finding, category="critical", reason="r"
    )
    new, old = finding.history.order_by("-history_id")[:2]
    changes = {c.field: (c.old, c.new) for c in new.diff_against(old).changes}
    assert changes["category"] == ("significant", "critical")
    assert new.history_date - old.history_date == timedelta(minutes=1)


def test_an_unknown_accession_number_is_refused_by_name(clock, radiologist):
    with pytest.raises(ValidationError) as exc:
        services.finding_flag(
            actor=radiologist, accession_number="NOPE-1", category="critical", description="x"
        )
    assert exc.value.message_dict == {
        "accession_number": ["No exam with accession number 'NOPE-1'."]
    }
    assert not Finding.objects.exists()


@pytest.mark.parametrize("category", ["", None])
def test_a_missing_category_is_refused_by_name(clock, flag, category):
    with pytest.raises(ValidationError) as exc:
        flag(category)
    assert list(exc.value.message_dict) == ["category"]
    assert not Finding.objects.exists()


def test_a_missing_description_is_refused(clock, flag):
    with pytest.raises(ValidationError) as exc:
        flag("critical", description="   ")
    assert list(exc.value.message_dict) == ["description"]


def test_a_free_text_contact_without_a_name_is_refused(clock, flag, radiologist):
    finding = flag("critical")
    with pytest.raises(ValidationError) as exc:
        services.attempt_log(
            actor=radiologist,
            finding=finding,
            channel=Channel.PHONE,
            outcome=Outcome.NO_ANSWER,
            contact_role="Ward nurse",
            contact_number="1234",
        )
    assert list(exc.value.message_dict) == ["contact_name"]
    assert not CommunicationAttempt.objects.exists()


def test_a_free_text_contact_with_a_name_is_recorded(clock, flag, radiologist):
    finding = flag("critical")
    attempt = services.attempt_log(
        actor=radiologist,
        finding=finding,
        channel=Channel.PHONE,
        outcome=Outcome.READ_BACK,
        contact_name="Dr R Locum",
        contact_role="On-call SHO",
        contact_number="07700 900123",
    )
    assert attempt.contact_display == "Dr R Locum"
    finding.refresh_from_db()
    assert finding.status == Status.COMMUNICATED


def test_an_unknown_channel_or_outcome_is_refused(clock, flag, radiologist, referrer):
    finding = flag("critical")
    for channel, outcome, field in [
        ("fax", Outcome.READ_BACK, "channel"),
        (Channel.PHONE, "maybe", "outcome"),
    ]:
        with pytest.raises(ValidationError) as exc:
            services.attempt_log(
                actor=radiologist,
                finding=finding,
                channel=channel,
                outcome=outcome,
                contacted_user=referrer,
            )
        assert list(exc.value.message_dict) == [field]


def test_acknowledging_with_other_action_needs_a_note(clock, flag, radiologist, referrer):
    finding = flag("critical")
    services.attempt_log(
        actor=radiologist,
        finding=finding,
        channel=Channel.PHONE,
        outcome=Outcome.READ_BACK,
        contacted_user=referrer,
    )
    with pytest.raises(ValidationError) as exc:
        services.finding_acknowledge(
            actor=referrer, finding=finding, planned_action=PlannedAction.OTHER
        )
    assert list(exc.value.message_dict) == ["note"]
    assert not Acknowledgement.objects.exists()


def test_a_named_responsible_clinician_must_be_a_referrer_but_no_orderer_means_unrouted(
    clock, radiologist
):
    patient = PatientFactory()
    exam = exam_services.exam_register(
        actor=radiologist, accession_number="ACC-NO-ORDERER", patient=patient, modality="CT"
    )
    with pytest.raises(ValidationError) as exc:
        services.finding_flag(
            actor=radiologist,
            accession_number=exam.accession_number,
            category="critical",
            description="x",
            responsible_clinician=radiologist,
        )
    assert list(exc.value.message_dict) == ["responsible_clinician"]
    finding = services.finding_flag(
        actor=radiologist,
        accession_number=exam.accession_number,
        category="critical",
        description="x",
    )
    assert finding.unrouted and finding.responsible_clinician == radiologist


def test_an_accession_number_cannot_move_to_another_patient(clock, exam, radiologist):
    with pytest.raises(ValidationError) as exc:
        exam_services.exam_register(
            actor=radiologist,
            accession_number=exam.accession_number,
            patient=PatientFactory(),
            modality="CT",
        )
    assert list(exc.value.message_dict) == ["accession_number"]


def test_seed_demo_is_idempotent_and_covers_every_category_and_state(db, settings):
    settings.DEMO_MODE = True
    call_command("seed_demo", verbosity=0)
    counts = (
        Finding.objects.count(),
        Handover.objects.count(),
        CommunicationAttempt.objects.count(),
    )
    call_command("seed_demo", verbosity=0)
    assert (
        Finding.objects.count(),
        Handover.objects.count(),
        CommunicationAttempt.objects.count(),
    ) == counts
    assert set(Finding.objects.values_list("category", flat=True)) == {
        "critical",
        "significant",
        "routine",
    }
    assert set(Finding.objects.values_list("status", flat=True)) == set(Status.values)
    assert Finding.objects.overdue().exists()
    assert Finding.objects.breached().exists()


def test_seed_demo_refuses_outside_demo_mode(db, settings):
    settings.DEMO_MODE = False
    with pytest.raises(Exception, match="demo mode only"):
        call_command("seed_demo", verbosity=0)


def test_running_seed_demo_again_writes_no_new_history(db, settings):
    settings.DEMO_MODE = True
    call_command("seed_demo", verbosity=0)
    from tracker.models import User

    before = User.history.count()
    call_command("seed_demo", verbosity=0)
    assert User.history.count() == before
