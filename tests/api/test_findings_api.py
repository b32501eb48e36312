"""REST API v1: each endpoint's success, permission denial and bad input; idempotent retries."""

from datetime import timedelta

import pytest
from rest_framework.authtoken.models import Token

from tests.conftest import T0
from tests.factories import ReferrerFactory
from tracker.models import (
    Acknowledgement,
    CommunicationAttempt,
    Exam,
    Finding,
    Handover,
    IdempotencyRecord,
    Patient,
    Status,
)
from tracker.services import findings as services

from .conftest import assert_error

pytestmark = pytest.mark.django_db
FINDINGS = "/api/v1/findings/"


def communicated(finding, radiologist, referrer):
    services.attempt_log(
        actor=radiologist,
        finding=finding,
        channel="phone",
        outcome="read_back",
        contacted_user=referrer,
    )
    finding.refresh_from_db()
    return finding


# List and read ----------------------------------------------------------------------------


def test_it_lists_only_the_findings_the_user_may_see(clock, api, flag, radiologist, stranger):
    finding = flag()

    mine = api(radiologist).get(FINDINGS)
    theirs = api(stranger).get(FINDINGS)

    assert mine.status_code == 200
    assert [f["id"] for f in mine.json()["results"]] == [finding.pk]
    assert mine.json()["count"] == 1
    assert theirs.status_code == 200 and theirs.json()["count"] == 0


def test_it_filters_overdue_and_due_within(clock, api, flag, radiologist):
    critical = flag("critical")
    significant = flag("significant", description="Incidental renal mass.")
    clock.shift(timedelta(minutes=70))

    overdue = api(radiologist).get(FINDINGS, {"overdue": "true"}).json()["results"]
    due_soon = api(radiologist).get(FINDINGS, {"due_within": 24 * 60}).json()["results"]
    by_category = api(radiologist).get(FINDINGS, {"category": "significant"}).json()["results"]

    assert [f["id"] for f in overdue] == [critical.pk]
    assert overdue[0]["deadline"]["state"] == "overdue"
    assert [f["id"] for f in due_soon] == [significant.pk]
    assert [f["id"] for f in by_category] == [significant.pk]


def test_it_filters_by_responsible_clinician(clock, api, flag, radiologist, referrer):
    finding = flag()
    other = ReferrerFactory(username="other-referrer")
    flag(responsible_clinician=other, description="Second finding.")

    rows = api(radiologist).get(FINDINGS, {"responsible_clinician": referrer.username}).json()

    assert [f["id"] for f in rows["results"]] == [finding.pk]


def test_a_bad_filter_value_is_a_400_naming_the_parameter(clock, api, radiologist):
    response = api(radiologist).get(FINDINGS, {"category": "urgent-ish"})

    assert_error(response, 400, "category")


def test_listing_needs_authentication(api):
    body = assert_error(api().get(FINDINGS), 401)

    assert body["code"] == "not_authenticated"


def test_a_system_authenticates_with_a_token(clock, client, flag, radiologist):
    flag()
    token = Token.objects.create(user=radiologist)

    response = client.get(FINDINGS, HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 200 and response.json()["count"] == 1


def test_it_reads_one_finding_with_its_timeline(clock, api, flag, radiologist, referrer):
    finding = flag()
    clock.shift(timedelta(minutes=10))
    communicated(finding, radiologist, referrer)

    body = api(referrer).get(f"{FINDINGS}{finding.pk}/").json()

    assert body["status"] == "communicated"
    assert body["exam"]["accession_number"] == finding.exam.accession_number
    assert [a["outcome"] for a in body["attempts"]] == ["read_back"]
    assert [e["event"] for e in body["timeline"]][0] == "Flagged"
    assert body["timeline"][0]["by"] == radiologist.display_name
    assert body["timeline"][-1]["status"] == "communicated"
    assert body["actions"]["acknowledge"] is True
    assert body["contact_due_at"] == "2026-11-23T15:00:00Z"


def test_a_finding_the_user_may_not_see_is_a_404(clock, api, flag, stranger):
    finding = flag()

    assert_error(api(stranger).get(f"{FINDINGS}{finding.pk}/"), 404)


# Create -----------------------------------------------------------------------------------


def test_a_radiologist_flags_a_finding_on_a_known_exam(clock, api, exam, radiologist, referrer):
    response = api(radiologist).post(
        FINDINGS,
        {
            "accession_number": exam.accession_number,
            "category": "critical",
            "description": "Tension pneumothorax.",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    finding = Finding.objects.get()
    assert response.json()["id"] == finding.pk
    assert finding.flagged_by == radiologist and finding.responsible_clinician == referrer
    assert finding.contact_due_at == T0 + timedelta(hours=1)


def test_it_registers_the_exam_and_patient_when_they_are_new(clock, api, radiologist, referrer):
    payload = {
        "accession_number": "API-0001",
        "category": "significant",
        "description": "Incidental 2 cm adrenal mass.",
        "exam": {
            "modality": "CT",
            "body_part": "Abdomen",
            "ordering_clinician": referrer.username,
            "patient": {"identifier": "MRN-API-1", "family_name": "Jones", "given_name": "Ann"},
        },
    }

    response = api(radiologist).post(FINDINGS, payload, format="json")

    assert response.status_code == 201, response.json()
    exam = Exam.objects.get(accession_number="API-0001")
    assert exam.patient.identifier == "MRN-API-1" and exam.ordering_clinician == referrer
    assert response.json()["responsible_clinician"]["username"] == referrer.username


def test_a_referrer_cannot_flag_and_nothing_is_registered(clock, api, referrer):
    payload = {
        "accession_number": "API-0002",
        "category": "critical",
        "description": "x",
        "exam": {"modality": "CT", "patient": {"identifier": "MRN-X", "family_name": "X"}},
    }

    assert_error(api(referrer).post(FINDINGS, payload, format="json"), 403)
    assert not (Patient.objects.exists() or Exam.objects.exists() or Finding.objects.exists())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"description": ""}, "description"),
        ({"category": "apocalyptic"}, "category"),
        ({"accession_number": "NO-SUCH-EXAM"}, "accession_number"),
        ({"responsible_clinician": "nobody-by-that-name"}, "responsible_clinician"),
    ],
)
def test_bad_input_to_create_is_a_400_naming_the_field(
    clock, api, exam, radiologist, change, field
):
    payload = {"accession_number": exam.accession_number, "category": "critical"}
    payload["description"] = "Pneumothorax."
    payload["confirm_second_open"] = True
    payload.update(change)

    assert_error(api(radiologist).post(FINDINGS, payload, format="json"), 400, field)
    assert not Finding.objects.exists()


def test_a_nested_bad_input_names_the_nested_field(clock, api, radiologist):
    payload = {
        "accession_number": "API-0003",
        "category": "critical",
        "description": "x",
        "exam": {"modality": "CT", "patient": {"family_name": "X"}},
    }

    assert_error(
        api(radiologist).post(FINDINGS, payload, format="json"), 400, "exam.patient.identifier"
    )


def test_a_retried_create_with_the_same_idempotency_key_records_once(clock, api, exam, radiologist):
    client = api(radiologist)
    payload = {"accession_number": exam.accession_number, "category": "critical"}
    payload["description"] = "Pneumothorax."
    payload["confirm_second_open"] = True

    first = client.post(FINDINGS, payload, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    clock.shift(timedelta(seconds=30))
    second = client.post(FINDINGS, payload, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Finding.objects.count() == 1 and Finding.history.count() == 1


def test_an_idempotency_key_reused_for_another_request_is_refused(clock, api, exam, radiologist):
    client = api(radiologist)
    payload = {"accession_number": exam.accession_number, "category": "critical"}
    payload["description"] = "Pneumothorax."
    payload["confirm_second_open"] = True
    client.post(FINDINGS, payload, format="json", HTTP_IDEMPOTENCY_KEY="k")

    payload["description"] = "Something else."
    response = client.post(FINDINGS, payload, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert_error(response, 422, "Idempotency-Key")
    assert Finding.objects.count() == 1


def test_idempotency_keys_belong_to_one_user(clock, api, exam, radiologist):
    from tests.factories import RadiologistFactory

    colleague = RadiologistFactory(username="radiologist-2")
    payload = {"accession_number": exam.accession_number, "category": "critical"}
    payload["description"] = "Pneumothorax."
    payload["confirm_second_open"] = True

    api(radiologist).post(FINDINGS, payload, format="json", HTTP_IDEMPOTENCY_KEY="same")
    api(colleague).post(FINDINGS, payload, format="json", HTTP_IDEMPOTENCY_KEY="same")

    assert Finding.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 2


# Attempts ---------------------------------------------------------------------------------


def test_a_radiologist_logs_a_read_back_and_the_finding_is_communicated(
    clock, api, flag, radiologist, referrer
):
    finding = flag()
    clock.shift(timedelta(minutes=12))

    response = api(radiologist).post(
        f"{FINDINGS}{finding.pk}/attempts/",
        {"channel": "phone", "outcome": "read_back", "contacted_user": referrer.username},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["counts_as_communication"] is True
    finding.refresh_from_db()
    assert finding.status == Status.COMMUNICATED
    assert finding.communicated_at == T0 + timedelta(minutes=12)


def test_a_retried_attempt_with_the_same_key_records_once(clock, api, flag, radiologist, referrer):
    finding = flag()
    client = api(radiologist)
    payload = {"channel": "bleep", "outcome": "no_answer", "contacted_user": referrer.username}

    for _ in range(3):
        response = client.post(
            f"{FINDINGS}{finding.pk}/attempts/", payload, format="json", HTTP_IDEMPOTENCY_KEY="a1"
        )
        assert response.status_code == 201

    assert CommunicationAttempt.objects.count() == 1


def test_the_referrer_cannot_log_a_call(clock, api, flag, referrer):
    finding = flag()

    response = api(referrer).post(
        f"{FINDINGS}{finding.pk}/attempts/",
        {"channel": "phone", "outcome": "read_back", "contact_name": "Dr X"},
        format="json",
    )

    assert_error(response, 403)
    assert not CommunicationAttempt.objects.exists()


def test_a_stranger_gets_404_when_logging_a_call(clock, api, flag, stranger):
    finding = flag()

    response = api(stranger).post(
        f"{FINDINGS}{finding.pk}/attempts/",
        {"channel": "phone", "outcome": "read_back", "contact_name": "Dr X"},
        format="json",
    )

    assert_error(response, 404)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"channel": "carrier-pigeon", "outcome": "read_back", "contact_name": "X"}, "channel"),
        ({"channel": "phone", "outcome": "read_back"}, "contact_name"),
        ({"channel": "phone", "contact_name": "X"}, "outcome"),
    ],
)
def test_bad_input_to_log_a_call_is_a_400_naming_the_field(
    clock, api, flag, radiologist, payload, field
):
    finding = flag()

    response = api(radiologist).post(f"{FINDINGS}{finding.pk}/attempts/", payload, format="json")

    assert_error(response, 400, field)
    assert not CommunicationAttempt.objects.exists()


def test_a_late_read_back_without_a_breach_reason_is_a_400(clock, api, flag, radiologist, referrer):
    finding = flag()
    clock.shift(timedelta(minutes=75))

    response = api(radiologist).post(
        f"{FINDINGS}{finding.pk}/attempts/",
        {"channel": "phone", "outcome": "read_back", "contacted_user": referrer.username},
        format="json",
    )

    assert_error(response, 400, "breach_reason")


# Acknowledge ------------------------------------------------------------------------------


def test_the_responsible_clinician_acknowledges(clock, api, flag, radiologist, referrer):
    finding = communicated(flag(), radiologist, referrer)
    clock.shift(timedelta(minutes=20))

    response = api(referrer).post(
        f"{FINDINGS}{finding.pk}/acknowledge/", {"planned_action": "admitted"}, format="json"
    )

    assert response.status_code == 201, response.json()
    finding.refresh_from_db()
    assert finding.status == Status.ACKNOWLEDGED
    assert finding.acknowledged_at == T0 + timedelta(minutes=20)


def test_acknowledging_before_the_read_back_is_a_400_naming_status(clock, api, flag, referrer):
    finding = flag()

    response = api(referrer).post(
        f"{FINDINGS}{finding.pk}/acknowledge/", {"planned_action": "admitted"}, format="json"
    )

    assert_error(response, 400, "status")


def test_the_radiologist_cannot_acknowledge(clock, api, flag, radiologist, referrer):
    finding = communicated(flag(), radiologist, referrer)

    response = api(radiologist).post(
        f"{FINDINGS}{finding.pk}/acknowledge/", {"planned_action": "admitted"}, format="json"
    )

    assert_error(response, 403)
    assert not Acknowledgement.objects.exists()


def test_a_stranger_cannot_see_a_finding_to_acknowledge(
    clock, api, flag, radiologist, referrer, stranger
):
    finding = communicated(flag(), radiologist, referrer)

    response = api(stranger).post(
        f"{FINDINGS}{finding.pk}/acknowledge/", {"planned_action": "admitted"}, format="json"
    )

    assert_error(response, 404)


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"planned_action": "shrug"}, "planned_action"), ({"planned_action": "other"}, "note")],
)
def test_bad_input_to_acknowledge_is_a_400_naming_the_field(
    clock, api, flag, radiologist, referrer, payload, field
):
    finding = communicated(flag(), radiologist, referrer)

    response = api(referrer).post(f"{FINDINGS}{finding.pk}/acknowledge/", payload, format="json")

    assert_error(response, 400, field)
    assert not Acknowledgement.objects.exists()


def test_a_retried_acknowledgement_records_once(clock, api, flag, radiologist, referrer):
    finding = communicated(flag(), radiologist, referrer)
    client = api(referrer)

    for _ in range(2):
        response = client.post(
            f"{FINDINGS}{finding.pk}/acknowledge/",
            {"planned_action": "admitted"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="ack-1",
        )
        assert response.status_code == 201

    assert Acknowledgement.objects.count() == 1


# Hand over --------------------------------------------------------------------------------


def test_the_responsible_clinician_hands_over_to_a_named_colleague(clock, api, flag, referrer):
    finding = flag()
    colleague = ReferrerFactory(username="night-fy1")

    response = api(referrer).post(
        f"{FINDINGS}{finding.pk}/hand-over/",
        {"to_clinician": colleague.username, "reason": "End of shift."},
        format="json",
        HTTP_IDEMPOTENCY_KEY="h-1",
    )

    assert response.status_code == 201, response.json()
    finding.refresh_from_db()
    assert finding.responsible_clinician == colleague
    assert Handover.objects.get().reason == "End of shift."


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"to_clinician": "night-fy1", "reason": ""}, "reason"),
        ({"reason": "End of shift."}, "to_clinician"),
        ({"to_clinician": "referrer", "reason": "Same person."}, "to_clinician"),
    ],
)
def test_bad_input_to_hand_over_is_a_400_naming_the_field(
    clock, api, flag, referrer, payload, field
):
    finding = flag()
    ReferrerFactory(username="night-fy1")

    response = api(referrer).post(f"{FINDINGS}{finding.pk}/hand-over/", payload, format="json")

    assert_error(response, 400, field)
    assert not Handover.objects.exists()


def test_governance_sees_but_cannot_hand_over(clock, api, flag, governance):
    finding = flag()
    colleague = ReferrerFactory(username="night-fy1")

    response = api(governance).post(
        f"{FINDINGS}{finding.pk}/hand-over/",
        {"to_clinician": colleague.username, "reason": "x"},
        format="json",
    )

    assert_error(response, 403)


def test_a_stranger_gets_404_when_handing_over(clock, api, flag, stranger):
    finding = flag()

    response = api(stranger).post(
        f"{FINDINGS}{finding.pk}/hand-over/",
        {"to_clinician": stranger.username, "reason": "x"},
        format="json",
    )

    assert_error(response, 404)
