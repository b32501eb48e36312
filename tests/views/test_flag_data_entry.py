"""The flag form protects the record: identifiers checked as what they are declared to be, no
date of birth in the future, a second open finding on one exam only when confirmed, and a
patient identifier that contradicts a known exam refused. Bad input keeps what was typed."""

import uuid
from datetime import date, timedelta

import pytest
from django.urls import reverse

from tracker.models import Finding, Patient

pytestmark = pytest.mark.django_db


def post_flag(client, **data):
    data = {
        "submission_key": str(uuid.uuid4()),
        "category": "critical",
        "description": "Large right pneumothorax.",
        **data,
    }
    return client.post(reverse("flag"), data)


def new_exam(referrer, **data):
    return {
        "accession_number": "NEW-9",
        "patient_identifier_kind": "mrn",
        "patient_identifier": "MRN0042",
        "patient_family_name": "Evans",
        "patient_given_name": "Rhys",
        "modality": "CT",
        "body_part": "Chest",
        "ordering_clinician": referrer.pk,
        **data,
    }


def test_an_nhs_number_typed_in_groups_is_checked_and_stored_as_ten_digits(
    clock, as_user, radiologist, referrer
):
    data = new_exam(
        referrer, patient_identifier_kind="nhs_number", patient_identifier="943 476 5919"
    )
    response = post_flag(as_user(radiologist), **data)
    assert response.status_code == 302
    assert Finding.objects.get().exam.patient.identifier == "9434765919"


def test_an_nhs_number_with_a_wrong_check_digit_is_refused_and_the_form_kept(
    clock, as_user, radiologist, referrer
):
    data = new_exam(
        referrer, patient_identifier_kind="nhs_number", patient_identifier="943 476 5918"
    )
    response = post_flag(as_user(radiologist), **data)
    assert response.status_code == 200
    form = response.context["form"]
    assert "check digit" in " ".join(form.errors["patient_identifier"])
    html = response.content.decode()
    assert 'value="943 476 5918"' in html and 'value="Evans"' in html  # nothing typed is lost
    assert 'id="new-exam" hidden' not in html  # the fields stay in view
    assert not Finding.objects.exists() and not Patient.objects.exists()


@pytest.mark.parametrize("identifier", ["MRN 0042", "MRN\x000042", "MRN\t42"])
def test_a_hospital_number_with_spaces_or_control_characters_is_refused(
    clock, as_user, radiologist, referrer, identifier
):
    response = post_flag(as_user(radiologist), **new_exam(referrer, patient_identifier=identifier))
    assert response.status_code == 200
    assert "patient_identifier" in response.context["form"].errors
    assert not Patient.objects.exists()


def test_the_site_mrn_pattern_is_applied(clock, as_user, radiologist, referrer, settings):
    settings.PATIENT_MRN_PATTERN = r"RX[0-9]{7}"
    client = as_user(radiologist)
    refused = post_flag(client, **new_exam(referrer, patient_identifier="MRN0042"))
    assert "patient_identifier" in refused.context["form"].errors
    accepted = post_flag(client, **new_exam(referrer, patient_identifier="RX1234567"))
    assert accepted.status_code == 302


def test_the_identifier_must_be_declared_an_nhs_or_hospital_number(
    clock, as_user, radiologist, referrer
):
    response = post_flag(as_user(radiologist), **new_exam(referrer, patient_identifier_kind=""))
    assert "patient_identifier_kind" in response.context["form"].errors
    assert not Finding.objects.exists()


def test_a_date_of_birth_in_the_future_is_refused(clock, as_user, radiologist, referrer):
    today = date(2026, 11, 23)  # the frozen clock (tests/conftest.py T0, London time)
    tomorrow = (today + timedelta(days=1)).isoformat()
    client = as_user(radiologist)
    response = post_flag(client, **new_exam(referrer, patient_date_of_birth=tomorrow))
    assert "cannot be in the future" in " ".join(
        response.context["form"].errors["patient_date_of_birth"]
    )
    assert not Patient.objects.exists()
    # A baby scanned on the day of birth.
    response = post_flag(client, **new_exam(referrer, patient_date_of_birth=today.isoformat()))
    assert response.status_code == 302
    assert Patient.objects.get().date_of_birth == today


def test_a_second_open_finding_on_the_exam_shows_the_first_and_asks_to_confirm(
    clock, as_user, radiologist, exam, flag
):
    first = flag("critical")
    client = as_user(radiologist)
    response = post_flag(client, accession_number=exam.accession_number, description="Rib fracture")
    assert response.status_code == 200
    assert response.context["second_open"] == first
    html = response.content.decode()
    assert reverse("finding", args=[first.pk]) in html
    assert 'name="confirm_second_open"' in html
    assert ">\nRib fracture</textarea>" in html  # what was typed is kept
    assert Finding.objects.count() == 1
    confirmed = post_flag(
        client,
        accession_number=exam.accession_number,
        description="Rib fracture",
        confirm_second_open="on",
    )
    assert confirmed.status_code == 302
    assert Finding.objects.count() == 2


def test_a_patient_identifier_contradicting_the_known_exam_is_refused(
    clock, as_user, radiologist, exam
):
    response = post_flag(
        as_user(radiologist),
        accession_number=exam.accession_number,
        patient_identifier_kind="mrn",
        patient_identifier="MRN9999999",
    )
    assert response.status_code == 200
    assert "belongs to another patient" in " ".join(
        response.context["form"].errors["patient_identifier"]
    )
    assert not Finding.objects.exists()


def test_the_lookup_returns_only_the_summary_never_a_field(as_user, radiologist, exam):
    client = as_user(radiologist)
    for accession in (exam.accession_number, "UNKNOWN-1", ""):
        html = client.get(
            reverse("exam_lookup"), {"accession_number": accession}, HTTP_HX_REQUEST="true"
        ).content.decode()
        assert "<input" not in html and "<select" not in html and "<textarea" not in html
    page = client.get(reverse("flag")).content.decode()
    assert 'hx-target="#exam-summary"' in page
    # The new-exam fields are outside the swapped summary, present from the start.
    summary_end = page.index('id="exam-summary"')
    assert page.index('name="patient_identifier"') > summary_end
    assert 'id="new-exam" hidden' in page  # hidden until the accession is found to be new


def test_a_second_open_finding_of_another_department_can_still_be_confirmed(
    clock, as_user, radiologist, exam
):
    from tracker.services import findings as services

    from ..factories import RadiologistFactory

    elsewhere = RadiologistFactory(username="elsewhere", department__code="other-rad")
    services.finding_flag(
        actor=elsewhere,
        accession_number=exam.accession_number,
        category="critical",
        description="Pneumothorax.",
    )
    response = post_flag(as_user(radiologist), accession_number=exam.accession_number)
    assert response.context["second_open"] is None  # not theirs to open: no link
    html = response.content.decode()
    assert "flagged by another department" in html and 'name="confirm_second_open"' in html
