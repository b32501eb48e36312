"""Registering patients and exams (from the flag screen, HL7 ingest or demo data)."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from .. import clock
from ..identifiers import nhs_number_is_valid
from ..models import Exam, IdentifierKind, Modality, Patient
from .base import save_with_history


def _locked(queryset):
    """The one row a unique key names, under a row lock; None if there is none."""
    # Not .first(): it sorts, which a unique key makes pointless.
    return next(iter(queryset.select_for_update().order_by()[:1]), None)


# No savepoint of their own (savepoint=False): every caller runs them inside its own transaction
# and stops on an error, so a savepoint would only add two round trips per call, which HL7 ingest
# makes hundreds of times a second.
def validate_identifier(identifier, kind=None):
    """The identifier, stripped, if it is valid for its kind: an NHS number passes its Modulus 11
    check; any other identifier (MRN) matches the site's pattern (PATIENT_MRN_PATTERN)."""
    identifier = (identifier or "").strip()
    if not identifier:
        raise ValidationError({"identifier": "Enter the patient's MRN or NHS number."})
    if kind == IdentifierKind.NHS_NUMBER:
        digits = identifier.replace(" ", "").replace("-", "")
        if not nhs_number_is_valid(digits):
            raise ValidationError(
                {"identifier": "This is not a valid NHS number (10 digits, check digit wrong)."}
            )
        return digits
    if not re.fullmatch(settings.PATIENT_MRN_PATTERN, identifier):
        raise ValidationError(
            {"identifier": "This is not a hospital number (MRN) in this site's format."}
        )
    return identifier


def validate_date_of_birth(date_of_birth):
    if date_of_birth is not None and date_of_birth > clock.now().date():
        raise ValidationError({"date_of_birth": "The date of birth cannot be in the future."})


@transaction.atomic(savepoint=False)
def patient_register(
    *, actor, identifier, family_name, given_name="", date_of_birth=None, identifier_kind=None
):
    identifier = validate_identifier(identifier, identifier_kind)
    if not (family_name or "").strip():
        raise ValidationError({"family_name": "Enter the patient's family name."})
    validate_date_of_birth(date_of_birth)
    patient = _locked(Patient.objects.filter(identifier=identifier))
    if patient is None:
        patient = Patient(identifier=identifier, identifier_kind=identifier_kind or "mrn")
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


def result_register(*, actor, accession_number, patient, exam):
    """Register (or update) the patient and the exam a result is about: the one path the flag
    screen, the REST API and HL7 ingest share. `patient` and `exam` are dicts of the details
    given (patient: identifier, family_name, given_name, date_of_birth, identifier_kind; exam:
    modality, body_part, description, performed_at, ordering_clinician, location)."""
    patient = patient or {}
    registered = patient_register(
        actor=actor,
        identifier=patient.get("identifier"),
        family_name=patient.get("family_name"),
        given_name=patient.get("given_name", ""),
        date_of_birth=patient.get("date_of_birth"),
        identifier_kind=patient.get("identifier_kind"),
    )
    ordering = exam.get("ordering_clinician")
    return exam_register(
        actor=actor,
        accession_number=accession_number,
        patient=registered,
        modality=exam.get("modality"),
        body_part=exam.get("body_part", ""),
        description=exam.get("description", ""),
        performed_at=exam.get("performed_at"),
        ordering_clinician=ordering,
        referring_department=exam.get("referring_department")
        or (ordering.department if ordering is not None else None),
        location=exam.get("location", ""),
    )


def _changes(instance, values):
    """(field, before, after) for each given value that differs from the stored one."""
    return [
        (field, getattr(instance, field), value)
        for field, value in values.items()
        if value is not None and getattr(instance, field) != value
    ]


def _describe(instance, changes):
    def shown(value):
        return "(none)" if value in (None, "") else str(value)

    return "; ".join(
        f"{instance._meta.get_field(f).verbose_name}: {shown(a)} → {shown(b)}"
        for f, a, b in changes
    )


@transaction.atomic
def patient_correct(
    *,
    actor,
    patient,
    reason,
    identifier=None,
    family_name=None,
    given_name=None,
    date_of_birth=None,
    identifier_kind=None,
):
    """Correct a patient's identifiers, name or date of birth, with a reason. The history keeps
    before and after; what was communicated keeps what was shown then (CommunicationAttempt.
    patient_shown)."""
    from .. import access
    from .base import require

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for the correction."})
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    require(access.can_correct_patient(actor, locked), "You cannot correct this patient's record.")
    values = {
        "identifier": identifier.strip() if identifier is not None else None,
        "identifier_kind": identifier_kind or None,
        "family_name": family_name.strip() if family_name is not None else None,
        "given_name": given_name.strip() if given_name is not None else None,
        "date_of_birth": date_of_birth,
    }
    kind = values["identifier_kind"] or locked.identifier_kind
    if values["identifier"] is not None or identifier_kind:
        values["identifier"] = validate_identifier(values["identifier"] or locked.identifier, kind)
    if values["family_name"] == "":
        raise ValidationError({"family_name": "Enter the patient's family name."})
    validate_date_of_birth(date_of_birth)
    new_identifier = values["identifier"]
    if (
        new_identifier
        and new_identifier != locked.identifier
        and Patient.objects.filter(identifier=new_identifier).exclude(pk=locked.pk).exists()
    ):
        raise ValidationError(
            {"identifier": "Another patient has this identifier: ask the records team to merge."}
        )
    changes = _changes(locked, values)
    if not changes:
        return locked
    for field, _, value in changes:
        setattr(locked, field, value)
    return save_with_history(locked, actor, f"Corrected ({_describe(locked, changes)}): {reason}")


@transaction.atomic
def exam_correct(
    *,
    actor,
    exam,
    reason,
    modality=None,
    body_part=None,
    description=None,
    ordering_clinician=None,
):
    """Correct an exam's details, with a reason (history keeps before and after)."""
    from .. import access
    from .base import require

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for the correction."})
    locked = Exam.objects.select_for_update().get(pk=exam.pk)
    require(access.can_correct_exam(actor, locked), "You cannot correct this exam.")
    if modality is not None and modality not in Modality.values:
        raise ValidationError({"modality": f"Unknown modality '{modality}'."})
    values = {
        "modality": modality,
        "body_part": body_part.strip() if body_part is not None else None,
        "description": description.strip() if description is not None else None,
        "ordering_clinician": ordering_clinician,
    }
    changes = _changes(locked, values)
    if not changes:
        return locked
    for field, _, value in changes:
        setattr(locked, field, value)
    if ordering_clinician is not None and ordering_clinician.department_id:
        locked.referring_department = ordering_clinician.department
    return save_with_history(locked, actor, f"Corrected ({_describe(locked, changes)}): {reason}")
