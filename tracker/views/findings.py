"""Flag a finding, and the finding page (exam, finding, contacts, timeline, statement)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from .. import access, clock
from ..audit.access import access_log_context, records_finding_access
from ..forms import AcknowledgeForm, CloseForm, FlagForm
from ..models import Exam, Finding
from ..services import findings as services
from ..templatetags.clinical import deadline_context
from ..timeline import communicating_attempt, documentation_statement, finding_timeline
from .base import signed_in, visible_finding_or_404
from .corrections import corrections_for


def _exam(accession_number):
    accession_number = (accession_number or "").strip()
    if not accession_number:
        return None
    return (
        Exam.objects.select_related(
            "patient",
            "ordering_clinician__department",
            "ordering_clinician__covering_colleague",
            "referring_department",
        )
        .filter(accession_number=accession_number)
        .first()
    )


def _blank_form(accession_number):
    """A new flag form; the responsible clinician pre-filled from the exam, if it is known."""
    exam = _exam(accession_number)
    return FlagForm(
        initial={
            "accession_number": accession_number,
            "responsible_clinician": exam.ordering_clinician if exam else None,
        }
    )


def _panel_context(accession_number, form, second_open=None, second_open_asked=False):
    exam = _exam(accession_number)
    accession_number = (accession_number or "").strip()
    typed_new_exam = form.is_bound and any(
        form.data.get(name) for name in FlagForm.NEW_EXAM_FIELDS + ("patient_identifier_kind",)
    )
    return {
        "form": form,
        "exam": exam,
        "accession_number": accession_number,
        "clinician": exam.ordering_clinician if exam else None,
        # Never hide what someone typed, even when the accession turns out to be known.
        "show_new_exam": (bool(accession_number) and exam is None) or typed_new_exam,
        # The service asks to confirm a second open finding on the exam; the first is linked
        # when this user may open it (one of another department's may not be).
        "second_open_asked": second_open_asked,
        "second_open": second_open,
    }


@signed_in
def flag(request):
    if not access.can_flag(request.user):
        raise PermissionDenied("Only a radiologist can flag a finding.")
    second_open, second_open_asked = None, False
    if request.method == "POST":
        form = FlagForm(request.POST)
        if form.is_valid():
            try:
                finding = _flag(request.user, form)
            except ValidationError as error:
                second_open_asked = _asks_to_confirm_second_open(error)
                if second_open_asked:
                    second_open = _open_finding_on(request.user, form.cleaned_data)
                form.add_service_error(error)
            else:
                messages.success(
                    request,
                    f"Flagged. Call {finding.responsible_clinician.display_name} now, then log "
                    "the call.",
                )
                return redirect("finding", pk=finding.pk)
        accession = request.POST.get("accession_number", "")
    else:
        accession = request.GET.get("accession_number", "")
        form = _blank_form(accession)
    return render(
        request,
        "tracker/flag.html",
        _panel_context(accession, form, second_open, second_open_asked),
    )


def _asks_to_confirm_second_open(error):
    codes = [e.code for e in getattr(error, "error_dict", {}).get("accession_number", [])]
    return "second_open_finding" in codes


def _open_finding_on(user, data):
    """The exam's open finding, if this user may see it."""
    return (
        access.visible_findings(user, Finding.objects.open())
        .filter(exam__accession_number=data["accession_number"])
        .select_related("flagged_by")
        .order_by("flagged_at", "pk")
        .first()
    )


def _same_patient(exam, data):
    """A known exam with a patient identifier typed in: it must be that exam's patient, or
    the accession number (or the identifier) is wrong."""
    typed = data.get("patient_identifier")
    if exam is not None and typed and typed != exam.patient.identifier:
        raise ValidationError(
            {
                "patient_identifier": (
                    f"Exam {exam.accession_number} belongs to another patient "
                    f"({exam.patient.identifier}). Check the accession number, or clear the "
                    "new exam's details."
                )
            }
        )


def _flag(actor, form):
    """Register the exam first if it is new, then flag: one service, one transaction."""
    data = form.cleaned_data
    exam = _exam(data["accession_number"])
    _same_patient(exam, data)
    new_exam = exam is None and form.wants_new_exam()
    return services.result_flag(
        actor=actor,
        accession_number=data["accession_number"],
        category=data["category"],
        description=data["description"],
        patient={
            "identifier": data["patient_identifier"],
            "identifier_kind": data["patient_identifier_kind"] or None,
            "family_name": data["patient_family_name"],
            "given_name": data["patient_given_name"],
            "date_of_birth": data["patient_date_of_birth"],
        }
        if new_exam
        else None,
        exam={
            "modality": data["modality"],
            "body_part": data["body_part"],
            "ordering_clinician": data["ordering_clinician"],
        }
        if new_exam
        else None,
        responsible_clinician=data["responsible_clinician"],
        submission_key=data["submission_key"],
        confirm_second_open=data["confirm_second_open"],
    )


@require_GET
@signed_in
def exam_lookup(request):
    """htmx: the exam and the clinician's numbers for the accession typed so far. Only the
    summary: the form's fields are never redrawn, so nothing being typed is lost."""
    if not access.can_flag(request.user):
        raise PermissionDenied("Only a radiologist can flag a finding.")
    accession = request.GET.get("accession_number", "")
    return render(
        request, "tracker/partials/exam_summary.html", _panel_context(accession, FlagForm())
    )


@signed_in
@records_finding_access("pk", via="finding_detail")
def finding_detail(request, pk):
    finding = visible_finding_or_404(
        request.user,
        pk,
        Finding.objects.for_worklist().select_related(
            "responsible_clinician__covering_colleague", "exam__ordering_clinician"
        ),
    )
    now = clock.now()
    attempt = communicating_attempt(finding)
    actions = access.actions_for(request.user, finding)
    timeline = finding_timeline(finding)
    return render(
        request,
        "tracker/finding.html",
        {
            "finding": finding,
            "now": now,
            "deadline": deadline_context(finding, now),
            "timeline": timeline,
            "actions": actions,
            "statement": documentation_statement(finding, attempt) if attempt else "",
            "clinician": finding.responsible_clinician,
            "acknowledge_form": AcknowledgeForm() if actions["acknowledge"] else None,
            "close_form": CloseForm() if actions["close"] else None,
            "corrections": corrections_for(request.user, finding),
            # The patient's or exam's details changed since the flag: said at the top.
            "record_changes": [e for e in timeline if e.kind == "record"],
            **access_log_context(request.user, finding),
        },
    )
