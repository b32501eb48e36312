"""Registering patients and exams (from the flag screen, HL7 ingest or demo data)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Exam, Modality, Patient
from .base import save_with_history


def _locked(queryset):
    """The one row a unique key names, under a row lock; None if there is none."""
    # Not .first(): it sorts, which a unique key makes pointless.
    return next(iter(queryset.select_for_update().order_by()[:1]), None)


# No savepoint of their own (savepoint=False): every caller runs them inside its own transaction
# and stops on an error, so a savepoint would only add two round trips per call, which HL7 ingest
# makes hundreds of times a second.
@transaction.atomic(savepoint=False)
def patient_register(*, actor, identifier, family_name, given_name="", date_of_birth=None):
    identifier = (identifier or "").strip()
    if not identifier:
        raise ValidationError({"identifier": "Enter the patient's MRN or NHS number."})
    if not (family_name or "").strip():
        raise ValidationError({"family_name": "Enter the patient's family name."})
    patient = _locked(Patient.objects.filter(identifier=identifier))
    if patient is None:
        patient = Patient(identifier=identifier)
    changed = patient.pk is None
    for field, value in {
        "family_name": family_name.strip(),
        "given_name": (given_name or "").strip(),
        "date_of_birth": date_of_birth,
    }.items():
        if value and getattr(patient, field) != value:
            setattr(patient, field, value)
            changed = True
    if changed:
        save_with_history(patient, actor, "Registered" if patient.pk is None else "Updated")
    return patient


@transaction.atomic(savepoint=False)
def exam_register(
    *,
    actor,
    accession_number,
    patient,
    modality,
    body_part="",
    description="",
    performed_at=None,
    ordering_clinician=None,
    referring_department=None,
    location="",
):
    """Create the exam, or update it when the same accession arrives again (e.g. from the RIS)."""
    accession_number = (accession_number or "").strip()
    if not accession_number:
        raise ValidationError({"accession_number": "Enter the accession number."})
    if modality not in Modality.values:
        raise ValidationError({"modality": f"Unknown modality '{modality}'."})
    exam = _locked(Exam.objects.filter(accession_number=accession_number))
    if exam is not None and exam.patient_id != patient.pk:
        raise ValidationError(
            {"accession_number": "This accession number belongs to another patient's exam."}
        )
    is_new = exam is None
    exam = exam or Exam(accession_number=accession_number, patient=patient)
    values = {
        "modality": modality,
        "body_part": (body_part or "").strip(),
        "description": (description or "").strip(),
        "performed_at": performed_at,
        "ordering_clinician": ordering_clinician,
        "referring_department": referring_department,
        "location": (location or "").strip(),
    }
    changed = is_new
    for field, value in values.items():
        if value and getattr(exam, field) != value:
            setattr(exam, field, value)
            changed = True
    if changed:
        save_with_history(exam, actor, "Registered" if is_new else "Updated")
    return exam
