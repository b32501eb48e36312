"""Flag a finding: exam by accession (or register it), contacts shown, errors, double submit."""

import uuid

import pytest
from django.urls import reverse

from tracker.models import Exam, Finding, Patient

from ..factories import ExamFactory, ReferrerFactory

pytestmark = pytest.mark.django_db


def post_flag(client, **data):
    data = {
        "submission_key": str(uuid.uuid4()),
        "category": "critical",
        "description": "Large right pneumothorax.",
        **data,
    }
    return client.post(reverse("flag"), data)


def errors(response):
    return response.context["form"].errors


def test_the_form_carries_a_fresh_submission_key(as_user, radiologist):
    response = as_user(radiologist).get(reverse("flag"))
    key = response.context["form"].initial["submission_key"]
    assert isinstance(key, uuid.UUID)
    assert f'name="submission_key" value="{key}"' in response.content.decode()


def test_it_shows_the_clinicians_numbers_and_cover_for_the_accession(as_user, radiologist, exam):
    cover = ReferrerFactory(username="cover", first_name="Sam", last_name="Taylor", bleep="3203")
    exam.ordering_clinician.covering_colleague = cover
    exam.ordering_clinician.save()
    client = as_user(radiologist)
    response = client.get(
        reverse("exam_lookup"), {"accession_number": exam.accession_number}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "Call Dr Alex Smith" in html
    assert "01632 960 201" in html and "3201" in html  # phone and bleep
    assert "Dr Sam Taylor" in html and "bleep 3203" in html  # the covering colleague
    # Only the summary is redrawn: never a field someone may be typing in.
    assert "<input" not in html and "<select" not in html and "<textarea" not in html
    # The page opened with the accession (no JavaScript) pre-fills the responsible clinician.
    page = client.get(reverse("flag"), {"accession_number": exam.accession_number})
    assert page.context["form"].initial["responsible_clinician"] == exam.ordering_clinician


def test_it_offers_to_register_an_unknown_accession(as_user, radiologist):
    client = as_user(radiologist)
    response = client.get(reverse("exam_lookup"), {"accession_number": "NEW-1"})
    html = response.content.decode()
    assert "No exam with accession number" in html
    assert 'data-exam-known="false"' in html  # tracker.js shows the new-exam fields
    page = client.get(reverse("flag"), {"accession_number": "NEW-1"}).content.decode()
    assert 'name="patient_identifier"' in page
    assert '<fieldset class="border rounded p-2 mb-2" id="new-exam">' in page  # not hidden


def test_it_flags_a_finding_and_opens_its_page(clock, as_user, radiologist, exam, referrer):
    response = post_flag(as_user(radiologist), accession_number=exam.accession_number)
    finding = Finding.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("finding", args=[finding.pk])
    assert finding.flagged_by == radiologist
    assert finding.responsible_clinician == referrer


def test_it_registers_a_new_exam_and_flags_it_in_one_go(clock, as_user, radiologist, referrer):
    response = post_flag(
        as_user(radiologist),
        accession_number="NEW-1",
        patient_identifier="9990001234",
        patient_identifier_kind="mrn",
        patient_family_name="Evans",
        patient_given_name="Rhys",
        modality="CT",
        body_part="Head",
        ordering_clinician=referrer.pk,
    )
    assert response.status_code == 302
    finding = Finding.objects.get()
    assert finding.exam.accession_number == "NEW-1"
    assert finding.exam.patient.family_name == "Evans"
    assert finding.responsible_clinician == referrer


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"description": "  "}, "description", "Describe the finding."),
        ({"category": ""}, "category", "This field is required."),
        ({"category": "urgent"}, "category", "Select a valid choice."),
        ({"accession_number": "NOPE"}, "accession_number", "No exam with accession number"),
        ({"accession_number": ""}, "accession_number", "Enter the accession number."),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(
    as_user, radiologist, exam, data, field, message
):
    data = {"accession_number": exam.accession_number, **data}
    response = post_flag(as_user(radiologist), **data)
    assert response.status_code == 200
    assert message in " ".join(errors(response)[field])
    assert not Finding.objects.exists()


def test_a_new_exam_is_not_kept_when_the_finding_is_refused(as_user, radiologist, referrer):
    response = post_flag(
        as_user(radiologist),
        accession_number="NEW-2",
        description="",
        patient_identifier="9990001234",
        patient_identifier_kind="mrn",
        patient_family_name="Evans",
        modality="CT",
        ordering_clinician=referrer.pk,
    )
    assert "description" in errors(response)
    assert not Exam.objects.filter(accession_number="NEW-2").exists()


def test_a_new_exam_without_a_clinician_is_accepted_unrouted_with_the_radiologist(
    clock, as_user, radiologist
):
    response = post_flag(
        as_user(radiologist),
        accession_number="NEW-3",
        patient_identifier="9990001235",
        patient_identifier_kind="mrn",
        patient_family_name="Evans",
        modality="CT",
    )
    assert response.status_code == 302
    finding = Finding.objects.get()
    assert finding.unrouted
    assert finding.responsible_clinician == radiologist
    assert Exam.objects.get(accession_number="NEW-3").ordering_clinician is None
    assert Patient.objects.filter(identifier="9990001235").exists()


def test_a_double_submit_flags_once(clock, as_user, radiologist, exam):
    client = as_user(radiologist)
    key = str(uuid.uuid4())
    first = post_flag(client, accession_number=exam.accession_number, submission_key=key)
    second = post_flag(client, accession_number=exam.accession_number, submission_key=key)
    assert Finding.objects.count() == 1
    assert first.url == second.url


def test_a_referrer_cannot_flag(as_user, referrer, exam):
    client = as_user(referrer)
    assert client.get(reverse("flag")).status_code == 403
    assert post_flag(client, accession_number=exam.accession_number).status_code == 403
    assert not Finding.objects.exists()


def test_another_exam_can_name_a_different_responsible_clinician(clock, as_user, radiologist):
    exam = ExamFactory()
    other = ReferrerFactory(username="other")
    post_flag(
        as_user(radiologist), accession_number=exam.accession_number, responsible_clinician=other.pk
    )
    assert Finding.objects.get().responsible_clinician == other
