"""Issue 13: the ordinary mistakes of a busy department cannot leave a finding with nobody able
to act, or communicated without a contact that qualifies."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from tracker import access
from tracker.audit.bulk import allow_bulk
from tracker.models import (
    Acknowledgement,
    Channel,
    CommunicationPolicy,
    Escalation,
    Finding,
    HandoverKind,
    Outcome,
    PlannedAction,
    Status,
)
from tracker.services import exams as exam_services
from tracker.services import findings as services
from tracker.timeline import documentation_statement

from .escalation.conftest import run_sweep
from .factories import RadiologistFactory, ReferrerFactory

pytestmark = pytest.mark.django_db


def call(finding, actor, channel=Channel.PHONE, outcome=Outcome.READ_BACK, **kwargs):
    if "contact_name" not in kwargs:
        kwargs.setdefault("contacted_user", finding.responsible_clinician)
    return services.attempt_log(
        actor=actor, finding=finding, channel=channel, outcome=outcome, **kwargs
    )


def fresh(finding):
    return Finding.objects.get(pk=finding.pk)


# --- read-back cannot be bypassed ----------------------------------------------------------


def test_recategorising_upwards_reopens_contact_that_does_not_qualify(
    clock, flag, radiologist, referrer
):
    finding = flag("routine")
    call(finding, radiologist, channel=Channel.EMAIL, outcome=Outcome.REACHED_NO_READ_BACK)
    assert fresh(finding).status == Status.COMMUNICATED

    services.finding_recategorise(
        actor=radiologist, finding=finding, category="critical", reason="Missed the bleed"
    )

    finding = fresh(finding)
    assert finding.status == Status.AWAITING_CONTACT
    assert finding.communicated_at is None
    assert finding.contact_due_at == finding.flagged_at + timedelta(hours=1)
    assert "Contact re-opened" in finding.history.first().history_change_reason
    with pytest.raises(ValidationError):
        services.finding_acknowledge(
            actor=referrer, finding=finding, planned_action=PlannedAction.ADMITTED
        )
    assert finding.attempts.count() == 1  # the earlier contact stays on the record


def test_recategorising_keeps_a_contact_that_qualifies_and_names_a_late_one(
    clock, flag, radiologist
):
    finding = flag("significant")
    clock.shift(timedelta(hours=2))
    call(finding, radiologist)  # read back by phone, inside 24 h
    services.finding_recategorise(
        actor=radiologist, finding=finding, category="critical", reason="Re-read"
    )
    finding = fresh(finding)
    assert finding.status == Status.COMMUNICATED
    assert finding.was_communicated_late and finding.breach_reason == "other"
    assert "recategorised" in finding.breach_reason_text


def test_a_critical_read_back_by_email_is_recorded_with_why_it_did_not_count(
    clock, flag, radiologist
):
    finding = flag("critical")
    attempt = call(finding, radiologist, channel=Channel.EMAIL, outcome=Outcome.READ_BACK)
    assert not attempt.counts_as_communication
    assert attempt.not_counted_reason == (
        "Email does not count for a critical finding (policy accepts: telephone, in person)."
    )
    attempt = call(finding, radiologist, channel=Channel.PHONE, outcome="reached_no_read_back")
    assert (
        attempt.not_counted_reason == "A critical finding counts only when the result is read back."
    )
    assert fresh(finding).status == Status.AWAITING_CONTACT


def test_the_log_call_form_says_before_saving_whether_the_contact_counts(
    clock, flag, radiologist, as_user
):
    finding = flag("critical")
    page = as_user(radiologist).get(reverse("log_call", args=[finding.pk]))
    html = page.content.decode()
    assert 'id="contact-verdict"' in html and 'aria-live="polite"' in html
    verdicts = page.context["verdicts_json"]
    assert '"email": {"read_back": {"counts": false' in verdicts


def test_the_status_label_never_claims_a_read_back(clock, flag, radiologist):
    finding = flag("routine")
    call(finding, radiologist, channel=Channel.EMAIL, outcome=Outcome.REACHED_NO_READ_BACK)
    finding = fresh(finding)
    assert "read back" not in finding.get_status_display()
    assert "no read-back" in documentation_statement(finding)


# --- policy floors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, field",
    [
        ({"read_back_required": False}, "read_back_required"),
        ({"accepted_channels": ["phone", "email"]}, "accepted_channels"),
        ({"escalation_chain": []}, "escalation_chain"),
        ({"escalation_chain": ["breach_governance", "deadline_cover"]}, "escalation_chain"),
    ],
)
def test_policy_floors_refuse_an_unsafe_critical_policy(change, field):
    policy = CommunicationPolicy.objects.get(category="critical")
    for name, value in change.items():
        setattr(policy, name, value)
    with pytest.raises(ValidationError) as exc:
        policy.full_clean()
    assert field in exc.value.message_dict


def test_every_category_with_a_deadline_needs_a_chain_ending_at_governance():
    policy = CommunicationPolicy.objects.get(category="significant")
    policy.escalation_chain = ["warning_reminder", "deadline_cover"]
    with pytest.raises(ValidationError):
        policy.full_clean()
    routine = CommunicationPolicy.objects.get(category="routine")
    routine.escalation_chain = ["warning_reminder"]
    routine.full_clean()  # no deadline: nothing to escalate


def test_the_database_refuses_a_critical_policy_without_read_back():
    with pytest.raises(IntegrityError), transaction.atomic(), allow_bulk("proving the rule"):
        CommunicationPolicy.objects.filter(category="critical").update(read_back_required=False)


# --- invariants in the database -------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"status": Status.COMMUNICATED},  # communicated with no contact time
        {"status": Status.ACKNOWLEDGED},
        {"status": Status.CLOSED},
        {"unrouted": True, "status": Status.ACKNOWLEDGED},
    ],
)
def test_the_database_refuses_a_status_without_the_times_it_implies(clock, flag, values):
    finding = flag("critical")
    with pytest.raises(IntegrityError), transaction.atomic(), allow_bulk("proving the rule"):
        Finding.objects.filter(pk=finding.pk).update(**values)  # bulk-ok: proving the rule


def test_the_database_refuses_a_late_contact_without_a_breach_reason(clock, flag):
    finding = flag("critical")
    late = finding.flagged_at + timedelta(hours=2)
    with pytest.raises(IntegrityError), transaction.atomic(), allow_bulk("proving the rule"):
        Finding.objects.filter(pk=finding.pk).update(  # bulk-ok: proving the rule
            status=Status.COMMUNICATED, communicated_at=late
        )


# --- no dead ends ---------------------------------------------------------------------------


def test_after_a_decline_the_clinician_reached_becomes_responsible_and_can_acknowledge(
    clock, flag, radiologist, referrer
):
    finding = flag("critical")
    call(finding, radiologist)
    services.finding_decline(actor=referrer, finding=finding, reason="Not my patient")
    finding = fresh(finding)
    assert finding.unrouted and finding.responsible_clinician == radiologist
    surgeon = ReferrerFactory(username="surgeon")

    call(finding, radiologist, contacted_user=surgeon)

    finding = fresh(finding)
    assert finding.status == Status.COMMUNICATED and not finding.unrouted
    assert finding.responsible_clinician == surgeon
    assert finding.handovers.filter(kind=HandoverKind.REROUTED, to_clinician=surgeon).exists()
    services.finding_acknowledge(
        actor=surgeon, finding=finding, planned_action=PlannedAction.ADMITTED
    )
    assert fresh(finding).status == Status.ACKNOWLEDGED


def test_a_clinician_without_an_account_acknowledges_verbally(clock, flag, radiologist):
    finding = flag("critical")
    services.finding_decline(
        actor=finding.responsible_clinician, finding=finding, reason="Transferred out"
    )
    finding = fresh(finding)
    with pytest.raises(ValidationError) as exc:
        call(
            finding, radiologist, contact_name="Dr Lou Cum", contact_role="Registrar, St Elsewhere"
        )
    assert "planned_action" in exc.value.message_dict
    clock.shift(timedelta(minutes=20))

    attempt = call(
        finding,
        radiologist,
        contact_name="Dr Lou Cum",
        contact_role="Medical registrar, St Elsewhere",
        contact_number="01632 960 999",
        planned_action=PlannedAction.ADMITTED,
    )

    finding = fresh(finding)
    assert finding.status == Status.ACKNOWLEDGED and not finding.unrouted
    ack = Acknowledgement.objects.get(finding=finding)
    assert ack.verbal_attempt == attempt and ack.acknowledged_by == radiologist
    statement = documentation_statement(finding, attempt)
    assert "Dr Lou Cum" in statement and "Acknowledged verbally" in statement
    assert access.can_close(radiologist, finding)


def test_the_department_lead_escalated_to_can_open_and_act(
    clock, flag, radiologist, chain_people, as_user
):
    finding = flag("critical")
    clock.shift(timedelta(hours=1, minutes=1))
    run_sweep()
    lead = chain_people["lead"]
    assert Escalation.objects.filter(finding=finding, recipient=lead).exists()

    assert as_user(lead).get(reverse("finding", args=[finding.pk])).status_code == 200
    assert access.can_hand_over(lead, fresh(finding))
    call(finding, radiologist, breach_reason="referrer_unreachable")
    services.finding_acknowledge(
        actor=lead, finding=fresh(finding), planned_action=PlannedAction.ADMITTED
    )
    assert fresh(finding).status == Status.ACKNOWLEDGED


def test_a_radiologist_escalated_to_sees_the_finding_of_another_department(
    clock, flag, radiologist, referrer, as_user
):
    finding = flag("critical")
    elsewhere = RadiologistFactory(username="teleradiologist", department=None)
    referrer.covering_colleague = elsewhere
    referrer.save()
    clock.shift(timedelta(hours=1, minutes=1))
    run_sweep()
    assert Escalation.objects.filter(finding=finding, recipient=elsewhere).exists()
    assert as_user(elsewhere).get(reverse("finding", args=[finding.pk])).status_code == 200


def test_an_api_result_for_an_unknown_orderer_is_accepted_unrouted(clock, radiologist, api):
    response = api(radiologist).post(
        "/api/v1/findings/",
        {
            "accession_number": "API-NEW-1",
            "category": "critical",
            "description": "Tension pneumothorax.",
            "exam": {
                "modality": "XR",
                "ordering_clinician": "dr-nobody-we-know",
                "patient": {"identifier": "MRN7654321", "family_name": "Okafor"},
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["unrouted"] is True
    finding = Finding.objects.get()
    assert finding.responsible_clinician == radiologist
    assert access.can_route(radiologist, finding)


def test_the_interface_account_is_never_responsible(clock, radiologist, exam, settings):
    from tracker.hl7.mapping import interface_user

    hl7 = interface_user()
    exam.ordering_clinician = None
    exam.save()
    finding = services.finding_flag(
        actor=hl7, accession_number=exam.accession_number, category="critical", description="x"
    )
    assert finding.unrouted
    assert finding.responsible_clinician.username == settings.RADIOLOGY_DUTY_USERNAME
    with pytest.raises(ValidationError):
        services.finding_flag(
            actor=radiologist,
            accession_number=exam.accession_number,
            category="critical",
            description="x",
            responsible_clinician=hl7,
            confirm_second_open=True,
        )


# --- corrections ----------------------------------------------------------------------------


def test_a_second_open_finding_on_one_exam_asks_to_confirm(clock, radiologist, exam):
    first = services.finding_flag(
        actor=radiologist,
        accession_number=exam.accession_number,
        category="critical",
        description="PE",
    )
    with pytest.raises(ValidationError) as exc:
        services.finding_flag(
            actor=radiologist,
            accession_number=exam.accession_number,
            category="critical",
            description="PE",
        )
    error = exc.value.error_dict["accession_number"][0]
    assert error.code == "second_open_finding" and f"#{first.pk}" in error.message
    services.finding_flag(
        actor=radiologist,
        accession_number=exam.accession_number,
        category="significant",
        description="Adrenal nodule",
        confirm_second_open=True,
    )
    assert Finding.objects.count() == 2


def test_cancelling_stops_escalation_and_leaves_every_worklist(clock, flag, radiologist):
    finding = flag("critical")
    with pytest.raises(ValidationError):
        services.finding_cancel(actor=radiologist, finding=finding, reason="  ")
    services.finding_cancel(actor=radiologist, finding=finding, reason="Wrong patient")
    finding = fresh(finding)
    assert finding.next_escalation_at is None
    clock.shift(timedelta(hours=3))
    run_sweep()
    assert not Escalation.objects.filter(finding=finding).exists()
    assert not Finding.objects.open().exists()
    assert finding.history.first().history_change_reason == "Cancelled: Wrong patient"


def test_a_stranger_cannot_cancel_or_correct(clock, flag, stranger):
    finding = flag("critical")
    with pytest.raises(PermissionDenied):
        services.finding_mark_entered_in_error(actor=stranger, finding=finding, reason="x")
    with pytest.raises(PermissionDenied):
        exam_services.patient_correct(
            actor=stranger, patient=finding.exam.patient, reason="x", family_name="Other"
        )


def test_correcting_the_patient_keeps_before_and_after_and_what_was_communicated(
    clock, flag, radiologist
):
    finding = flag("critical")
    attempt = call(finding, radiologist)
    patient = finding.exam.patient
    old_identifier = patient.identifier
    assert old_identifier in attempt.patient_shown

    exam_services.patient_correct(
        actor=radiologist,
        patient=patient,
        reason="Typo at registration",
        identifier="9434765919",
        identifier_kind="nhs_number",
    )

    patient.refresh_from_db()
    assert patient.identifier == "9434765919"
    reason = patient.history.first().history_change_reason
    assert old_identifier in reason and "9434765919" in reason and "Typo" in reason
    attempt.refresh_from_db()
    assert old_identifier in attempt.patient_shown


def test_an_nhs_number_must_pass_its_check_digit(clock, radiologist):
    with pytest.raises(ValidationError) as exc:
        exam_services.patient_register(
            actor=radiologist,
            identifier="9434765918",
            identifier_kind="nhs_number",
            family_name="X",
        )
    assert "identifier" in exc.value.message_dict


def test_a_call_time_in_the_future_or_before_the_flag_is_refused_and_a_late_entry_shows(
    clock, flag, radiologist
):
    finding = flag("critical")
    with pytest.raises(ValidationError):
        call(finding, radiologist, attempted_at=finding.flagged_at + timedelta(minutes=5))
    with pytest.raises(ValidationError):
        call(finding, radiologist, attempted_at=finding.flagged_at - timedelta(minutes=1))
    clock.shift(timedelta(minutes=40))
    attempt = call(finding, radiologist, attempted_at=finding.flagged_at + timedelta(minutes=10))
    finding = fresh(finding)
    assert finding.communicated_at == finding.flagged_at + timedelta(minutes=10)
    assert "Logged at" in documentation_statement(finding, attempt)


def test_the_log_call_form_takes_when_the_call_happened_in_local_time(
    clock, flag, radiologist, as_user
):
    finding = flag("critical")  # 14:00 UTC, 14:00 GMT
    clock.shift(timedelta(minutes=45))
    response = as_user(radiologist).post(
        reverse("log_call", args=[finding.pk]),
        {
            "contacted_user": finding.responsible_clinician.pk,
            "channel": "phone",
            "outcome": "read_back",
            "attempted_at": "2026-11-23T14:20",
            "submission_key": "5b3f8a52-2f7e-4a44-9a51-2f0f1c7d3e11",
        },
    )
    assert response.status_code == 302
    attempt = finding.attempts.get()
    assert attempt.attempted_at == finding.flagged_at + timedelta(minutes=20)
    assert attempt.recorded_at == finding.flagged_at + timedelta(minutes=45)
    assert fresh(finding).communicated_at == attempt.attempted_at
