"""Recording a report version: one service for HL7, the API and the screens."""

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Exam
from ..services.base import now, save_with_history
from .models import ReportStatus, ReportVersion

MAX_REPORT_CHARS = 100_000


@transaction.atomic
def report_record(*, actor, exam, status, text, source, verified_at=None, author=None, reason=""):
    """Store a new version of the exam's report (never overwrites an earlier one).

    A verified report (final or corrected) without a verification time is taken as verified
    now (server clock).
    """
    if status not in ReportStatus.values:
        raise ValidationError({"status": f"Unknown report status '{status}'."})
    text = (text or "").strip()
    if len(text) > MAX_REPORT_CHARS:
        raise ValidationError({"text": f"The report is longer than {MAX_REPORT_CHARS} characters."})
    if status != ReportStatus.CANCELLED and not text:
        raise ValidationError({"text": "The report has no text."})
    # The exam row lock serialises version numbers for one exam.
    Exam.objects.select_for_update().filter(pk=exam.pk).first()
    last = exam.report_versions.order_by("-version").values_list("version", flat=True).first()
    version = ReportVersion(
        exam=exam,
        version=(last or 0) + 1,
        status=status,
        text=text,
        verified_at=verified_at,
        author=author,
        recorded_by=actor,
        source=source,
    )
    if version.is_verified and version.verified_at is None:
        version.verified_at = now()
    label = f"Report v{version.version} {version.get_status_display().lower()}"
    return save_with_history(version, actor, f"{label}: {reason}" if reason else label)


def current_report(exam):
    return exam.report_versions.order_by("-version").first()
