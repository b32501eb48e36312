"""ORU^R01 from several RIS senders and versions: what is recorded, and what is answered."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.conftest import T0
from tracker import access
from tracker.models import (
    Category,
    Exam,
    Finding,
    InboundMessage,
    MessageStatus,
    Patient,
    ProviderIdentifier,
    Role,
)
from tracker.services import findings as services

from .conftest import load, receive, segments

pytestmark = pytest.mark.django_db


def test_it_flags_a_critical_finding_from_a_v23_report_with_obx8_aa(clock, radiologist, referrer):
    message = receive(load("oru_v23_critical_aa.hl7"))

    ack = segments(message.ack)
    assert ack["MSA"][1:3] == ["AA", "CRIS-0001"]
    assert ack["MSH"][8] == "ACK^R01^ACK" and ack["MSH"][11] == "2.3"
    assert ack["MSH"][4:6] == ["CRIS", "RAD1"]  # answered to the sender
    finding = Finding.objects.get()
    assert finding.category == Category.CRITICAL
    assert finding.flagged_by == radiologist  # OBR-32 principal result interpreter
    assert finding.responsible_clinician == referrer  # OBR-16 / ORC-12 by username
    assert finding.flagged_at == T0
    assert finding.contact_due_at == T0 + timedelta(hours=1)
    assert "tension pneumothorax" in finding.description
    exam = finding.exam
    assert (exam.accession_number, exam.modality, exam.location) == (
        "ACC-23-0001",
        "CT",
        "ED BAY3 1",
    )
    assert exam.patient.identifier == "MRN0000101" and exam.patient.family_name == "PATIENT"
    assert finding.history.get().history_user == radiologist
    assert message.status == MessageStatus.PROCESSED and message.finding == finding


def test_it_flags_significant_from_obx8_a_and_maps_the_ordering_provider_by_gmc_id(clock, referrer):
    ProviderIdentifier.objects.create(user=referrer, value="GMC4455667", assigning_authority="GMC")

    message = receive(load("oru_v24_significant_a.hl7"))

    assert message.ack_code == "AA"
    finding = Finding.objects.get()
    assert finding.category == Category.SIGNIFICANT
    assert finding.contact_due_at == T0 + timedelta(hours=24)
    assert finding.responsible_clinician == referrer
    # OBR-32 empty: the interface account flags, as a radiologist of Radiology.
    assert finding.flagged_by.username == "hl7-interface"
    assert finding.flagged_by.role == Role.RADIOLOGIST
    assert finding.flagged_by.department.code == "radiology"
    assert not finding.flagged_by.has_usable_password()
    assert finding.exam.modality == "US"


def test_it_flags_from_a_configured_category_code_in_a_utf8_v251_report(clock, referrer):
    message = receive(load("oru_v251_category_code.hl7"))

    assert message.ack_code == "AA"
    finding = Finding.objects.get()
    assert finding.category == Category.CRITICAL
    assert finding.description == "Acute basilar artery thrombosis."
    assert finding.exam.patient.family_name == "BRONTË"
    assert finding.exam.patient.given_name == "Zoë"


def test_it_reads_latin1_declared_in_msh18_with_lf_segment_ends(clock, referrer):
    raw = load("oru_v231_hh_latin1.hl7", segment_separator=b"\n")

    message = receive(raw)

    assert message.ack_code == "AA", message.error
    finding = Finding.objects.get()
    assert finding.category == Category.CRITICAL  # OBX-8 HH
    assert finding.exam.patient.family_name == "MÜLLER"
    assert bytes(message.raw) == raw  # stored exactly as received


def test_an_unflagged_report_registers_the_exam_and_no_finding(clock, referrer):
    message = receive(load("oru_v25_unflagged.hl7"))

    assert message.ack_code == "AA"
    assert not Finding.objects.exists()
    exam = Exam.objects.get()
    assert (exam.accession_number, exam.modality) == ("ACC-25-0004", "XR")
    assert exam.ordering_clinician == referrer
    assert message.exam == exam and message.finding is None


def test_the_flag_table_is_configurable(clock, referrer, settings):
    settings.HL7_ABNORMAL_FLAG_CATEGORIES = {"AA": "significant"}

    receive(load("oru_v23_critical_aa.hl7"))

    assert Finding.objects.get().category == Category.SIGNIFICANT


def test_a_resend_gets_the_same_ack_and_records_nothing_new(clock, radiologist, referrer):
    raw = load("oru_v23_critical_aa.hl7")
    first = receive(raw)
    counts = (Finding.objects.count(), Exam.objects.count(), Finding.history.count())

    clock.shift(timedelta(minutes=5))
    again = receive(raw)

    assert again.ack == first.ack
    assert again.pk == first.pk
    assert InboundMessage.objects.count() == 1
    assert (Finding.objects.count(), Exam.objects.count(), Finding.history.count()) == counts


def test_an_amended_report_recategorises_the_open_finding(clock, radiologist, referrer):
    receive(load("oru_v23_critical_aa.hl7"))
    amended = load("oru_v23_critical_aa.hl7").replace(b"CRIS-0001", b"CRIS-0001A")
    amended = amended.replace(b"|||AA|||F", b"|||A|||F")

    message = receive(amended)

    assert message.ack_code == "AA"
    finding = Finding.objects.get()
    assert finding.category == Category.SIGNIFICANT
    assert "Amended report" in finding.history.first().history_change_reason


def test_a_reused_control_id_with_other_content_is_rejected_and_kept(clock, referrer):
    receive(load("oru_v25_unflagged.hl7"))
    other = load("oru_v25_unflagged.hl7").replace(b"NORMAL^Nina", b"OTHER^Olga")

    message = receive(other)

    assert message.ack_code == "AR"
    assert "already used" in message.error
    assert message.is_dead_letter and bytes(message.raw) == other
    assert Patient.objects.get().family_name == "NORMAL"


@pytest.mark.parametrize(
    ("name", "ack_code", "error_code", "location"),
    [
        ("bad_msh.hl7", "AR", "100", "MSH"),
        ("missing_pid.hl7", "AE", "101", "PID"),
        ("wrong_segment_order.hl7", "AE", "100", "OBX"),
        ("non_utf8.hl7", "AR", "102", "MSH-18"),
    ],
)
def test_a_malformed_message_is_answered_with_an_error_and_kept_as_a_dead_letter(
    clock, referrer, name, ack_code, error_code, location
):
    raw = load(name)

    message = receive(raw)

    ack = segments(message.ack)
    assert ack["MSA"][1] == ack_code
    assert ack["MSA"][3]  # a reason in MSA-3
    assert error_code in ack["ERR"][3 if ack["MSH"][11] in ("2.5", "2.5.1") else 1]
    stored = InboundMessage.objects.get()
    assert stored.is_dead_letter and stored.error_location == location
    assert bytes(stored.raw) == raw
    assert not (Finding.objects.exists() or Exam.objects.exists() or Patient.objects.exists())


def test_v23_and_v25_acks_carry_the_error_in_their_versions_err_layout(clock):
    v23 = segments(receive(load("wrong_segment_order.hl7").replace(b"|2.5\r", b"|2.3\r")).ack)
    v25 = segments(receive(load("missing_pid.hl7").replace(b"|2.4\r", b"|2.5\r")).ack)

    assert v23["ERR"][1].startswith("OBX^1^^100&")
    assert v25["ERR"][2] == "PID^1^" and v25["ERR"][3].startswith("101^") and v25["ERR"][4] == "E"


def test_an_unknown_ordering_provider_is_accepted_into_the_unrouted_queue(
    clock, radiologist, referrer
):
    """A critical result refused is a critical result lost: the unknown orderer is a routing
    problem for the radiology department, and the clock runs from receipt."""
    message = receive(load("unknown_ordering_provider.hl7"))

    assert message.ack_code == "AA"
    finding = Finding.objects.get()
    assert finding.unrouted and finding.category == "critical"
    assert finding.exam.ordering_clinician is None
    owner = finding.responsible_clinician
    assert owner.username == settings.RADIOLOGY_DUTY_USERNAME  # OBR-32 names no radiologist
    assert owner.username != settings.HL7_INTERFACE_USERNAME
    assert finding.contact_due_at == finding.flagged_at + timedelta(hours=1)
    # The department's radiologists see it and can route it in one action.
    assert access.can_route(radiologist, finding)
    services.finding_route(
        actor=radiologist, finding=finding, to_clinician=referrer, reason="Locum's consultant"
    )
    finding.refresh_from_db()
    assert not finding.unrouted and finding.responsible_clinician == referrer


def test_a_mapped_provider_code_routes_the_result(clock, referrer):
    ProviderIdentifier.objects.create(user=referrer, value="LOC999")

    message = receive(load("unknown_ordering_provider.hl7"))

    assert message.ack_code == "AA"
    finding = Finding.objects.get()
    assert not finding.unrouted and finding.responsible_clinician == referrer


def test_a_dead_letter_is_reprocessed_and_a_resend_changes_nothing(
    clock, referrer, governance, monkeypatch
):
    from tracker.hl7 import mapping

    raw = load("oru_v23_critical_aa.hl7")
    with monkeypatch.context() as patch:
        patch.setattr(mapping, "modality_for", lambda order: 1 / 0)  # a transient fault
        first = receive(raw)
    assert first.ack_code == "AE" and first.is_dead_letter
    assert not Finding.objects.exists() and not Exam.objects.exists()

    call_command("hl7_reprocess", first.pk, "--as-user", governance.username)

    first.refresh_from_db()
    assert first.status == MessageStatus.PROCESSED and first.attempts == 2
    assert first.reprocessed_by == governance
    assert Finding.objects.count() == 1
    # A later resend now gets the accepted ACK and changes nothing.
    assert receive(raw).ack == first.ack
    assert Finding.objects.count() == 1


def test_an_internal_error_keeps_the_message_as_a_dead_letter(clock, referrer, monkeypatch, caplog):
    from tracker.hl7 import mapping

    def broken(order):
        raise RuntimeError("MRN0000404 NORMAL")  # an error text that quotes patient data

    monkeypatch.setattr(mapping, "modality_for", broken)

    message = receive(load("oru_v25_unflagged.hl7"))

    assert message.ack_code == "AE" and message.is_dead_letter
    assert "RuntimeError" in message.error
    assert not Exam.objects.exists() and not Patient.objects.exists()
    assert "MRN0000404" not in caplog.text and "NORMAL" not in caplog.text
    assert "RuntimeError" in caplog.text
