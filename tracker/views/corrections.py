"""Corrections of a finding and its record, each a small form with a reason posting to its own
URL: cancel, entered in error, recategorise, correct the patient or the exam, route an unrouted
finding. The finding page shows them inline; each URL also shows its form alone (after an error,
or when the form comes back after signing in again).

The view: 404 if the user may not see the finding, 403 if they may see it but not do this, back
to the finding (with a message) if its state no longer allows it, then the form, then the
service (which checks again, validates, locks and records with the reason).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from .. import access, clock
from ..correction_forms import (
    ExamCorrectionForm,
    PatientCorrectionForm,
    RecategoriseForm,
    RouteForm,
    VoidForm,
)
from ..models import Category, CommunicationPolicy, Status
from ..models.findings import TRANSITIONS
from ..services import exams as exam_services
from ..services import findings as services
from ..templatetags.clinical import deadline_context
from .base import signed_in, visible_finding_or_404


@dataclass(frozen=True)
class Correction:
    key: str  # the URL name
    title: str
    intro: str
    button: str
    done: str
    refused: str
    allowed: Callable  # (user, finding) -> bool
    available: Callable  # (finding) -> bool: does its state allow it now?
    form_class: type
    initial: Callable  # (finding) -> dict
    perform: Callable  # (actor, finding, cleaned_data) -> the service's result
    danger: bool = False

    def url(self, finding):
        return reverse(self.key, args=[finding.pk])


def _status_allows(target):
    return lambda finding: target in TRANSITIONS[finding.status]


def _patient_initial(finding):
    patient = finding.exam.patient
    return {
        "identifier_kind": getattr(patient, "identifier_kind", "") or "mrn",
        "identifier": patient.identifier,
        "family_name": patient.family_name,
        "given_name": patient.given_name,
        "date_of_birth": patient.date_of_birth,
    }


def _exam_initial(finding):
    exam = finding.exam
    return {
        "modality": exam.modality,
        "body_part": exam.body_part,
        "description": exam.description,
        "ordering_clinician": exam.ordering_clinician_id,
    }


VOIDERS = "Only a radiologist of the flagging department or governance can do this."
RADIOLOGISTS = "Only a radiologist of the flagging department can do this."

CORRECTIONS = [
    Correction(
        key="route",
        title="Route this finding",
        intro="Nobody is responsible for this result yet (the ordering clinician is not known "
        "or cannot act). Choose the referrer who is: they become responsible, and the deadline "
        "keeps running from when it came in.",
        button="Route",
        done="Routed. Call the responsible clinician now, then log the call.",
        refused=RADIOLOGISTS,
        # Who may route at all; whether this finding needs it is `available` (the service
        # checks access.can_route, which asks both).
        allowed=access.is_radiologist_for,
        available=lambda finding: getattr(finding, "unrouted", False),
        form_class=RouteForm,
        initial=lambda finding: {"to_clinician": finding.exam.ordering_clinician_id},
        perform=lambda actor, finding, data: services.finding_route(
            actor=actor,
            finding=finding,
            to_clinician=data["to_clinician"],
            reason=data["reason"],
            submission_key=data["submission_key"],
        ),
    ),
    Correction(
        key="recategorise",
        title="Change the category",
        intro="The contact deadline is recomputed from when the finding was first flagged, "
        "not from now.",
        button="Change the category",
        done="Recategorised. The deadline is recomputed from when it was first flagged.",
        refused=RADIOLOGISTS,
        allowed=access.can_recategorise,
        available=lambda f: f.status in (Status.AWAITING_CONTACT, Status.COMMUNICATED),
        form_class=RecategoriseForm,
        initial=lambda finding: {"category": finding.category},
        perform=lambda actor, finding, data: services.finding_recategorise(
            actor=actor, finding=finding, category=data["category"], reason=data["reason"]
        ),
    ),
    Correction(
        key="correct_patient",
        title="Correct the patient's details",
        intro="For a mistyped identifier, name or date of birth. The history keeps the details "
        "before and after; calls already logged keep what was shown then.",
        button="Save the correction",
        done="Patient details corrected. The timeline shows what changed and why.",
        refused=RADIOLOGISTS,
        allowed=access.can_correct_record,
        available=lambda finding: True,
        form_class=PatientCorrectionForm,
        initial=_patient_initial,
        perform=lambda actor, finding, data: exam_services.patient_correct(
            actor=actor,
            patient=finding.exam.patient,
            reason=data["reason"],
            identifier=data["identifier"],
            identifier_kind=data["identifier_kind"],
            family_name=data["family_name"],
            given_name=data["given_name"],
            date_of_birth=data["date_of_birth"],
        ),
    ),
    Correction(
        key="correct_exam",
        title="Correct the exam's details",
        intro="The history keeps the details before and after, with your reason.",
        button="Save the correction",
        done="Exam details corrected. The timeline shows what changed and why.",
        refused=RADIOLOGISTS,
        allowed=access.can_correct_record,
        available=lambda finding: True,
        form_class=ExamCorrectionForm,
        initial=_exam_initial,
        perform=lambda actor, finding, data: exam_services.exam_correct(
            actor=actor,
            exam=finding.exam,
            reason=data["reason"],
            modality=data["modality"],
            body_part=data["body_part"],
            description=data["description"],
            ordering_clinician=data["ordering_clinician"],
        ),
    ),
    Correction(
        key="cancel",
        title="Cancel this finding",
        intro="For a finding flagged by mistake or twice. It leaves every worklist and is no "
        "longer escalated. Nothing is deleted: the record and its timeline stay, with your "
        "reason.",
        button="Cancel the finding",
        done="Cancelled. It has left every worklist and will not be escalated; the record stays.",
        refused=VOIDERS,
        allowed=access.can_void,
        available=_status_allows(Status.CANCELLED),
        form_class=VoidForm,
        initial=lambda finding: {},
        perform=lambda actor, finding, data: services.finding_cancel(
            actor=actor, finding=finding, reason=data["reason"]
        ),
        danger=True,
    ),
    Correction(
        key="entered_in_error",
        title="Mark entered in error",
        intro="For a finding recorded against the wrong patient or exam. It leaves every "
        "worklist and is no longer escalated; the record stays, marked, with your reason.",
        button="Mark entered in error",
        done="Marked entered in error. It has left every worklist and will not be escalated.",
        refused=VOIDERS,
        allowed=access.can_void,
        available=_status_allows(Status.ENTERED_IN_ERROR),
        form_class=VoidForm,
        initial=lambda finding: {},
        perform=lambda actor, finding, data: services.finding_mark_entered_in_error(
            actor=actor, finding=finding, reason=data["reason"]
        ),
        danger=True,
    ),
]
BY_KEY = {c.key: c for c in CORRECTIONS}


def category_deadlines(finding):
    """(label, contact deadline, is current) per category, counted from the original flag."""
    rows = []
    for value, label in Category.choices:
        window = CommunicationPolicy.for_category(value).contact_deadline
        rows.append(
            (label, finding.flagged_at + window if window else None, value == finding.category)
        )
    return rows


def _context(correction, finding, form):
    return {
        "correction": correction,
        "form": form,
        "action_url": correction.url(finding),
        "category_deadlines": (
            category_deadlines(finding) if correction.key == "recategorise" else None
        ),
    }


def corrections_for(user, finding):
    """The corrections the finding page offers this user now, each with its empty form."""
    return [
        # Several forms on one page: ids of their own (the field names stay as posted).
        _context(c, finding, c.form_class(initial=c.initial(finding), auto_id=f"{c.key}_%s"))
        for c in CORRECTIONS
        if c.allowed(user, finding) and c.available(finding)
    ]


def _add_service_error(form, error):
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@signed_in
def correction(request, pk, key):
    correction = BY_KEY[key]
    finding = visible_finding_or_404(request.user, pk)
    if not correction.allowed(request.user, finding):
        raise PermissionDenied(correction.refused)
    if not correction.available(finding):
        status = finding.get_status_display().lower()
        messages.info(request, f"This finding is {status}: “{correction.title}” is not possible.")
        return redirect("finding", pk=finding.pk)
    if request.method == "POST":
        form = correction.form_class(request.POST)
        if form.is_valid():
            try:
                correction.perform(request.user, finding, form.cleaned_data)
            except ValidationError as error:
                _add_service_error(form, error)
            else:
                messages.success(request, correction.done)
                return redirect("finding", pk=finding.pk)
    else:
        form = correction.form_class(initial=correction.initial(finding))
    now = clock.now()
    return render(
        request,
        "tracker/correction.html",
        {
            "finding": finding,
            "now": now,
            "deadline": deadline_context(finding, now),
            **_context(correction, finding, form),
        },
    )
