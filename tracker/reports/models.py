"""A report version: one row per report the RIS (or a radiologist) issued for an exam."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .. import clock
from ..models.history import HistoryManager
from ..models.people import Exam


class ReportStatus(models.TextChoices):
    # HL7 v2 OBR-25 / OBX-11 result status codes, in the clinic's words.
    PRELIMINARY = "preliminary", "Preliminary"
    FINAL = "final", "Final"
    CORRECTED = "corrected", "Corrected"
    CANCELLED = "cancelled", "Cancelled"


HL7_RESULT_STATUS = {
    "P": ReportStatus.PRELIMINARY,
    "F": ReportStatus.FINAL,
    "C": ReportStatus.CORRECTED,
    "X": ReportStatus.CANCELLED,
}

# A verified report: what may be released to a patient and what a referrer acts on.
VERIFIED_STATUSES = [ReportStatus.FINAL, ReportStatus.CORRECTED]


class ReportSource(models.TextChoices):
    HL7 = "hl7", "HL7 v2 from the RIS"
    API = "api", "REST API"
    SCREEN = "screen", "Entered on screen"


class ReportVersionQuerySet(models.QuerySet):
    def current(self):
        """The latest version of each exam's report."""
        latest = (
            ReportVersion.objects.filter(exam_id=models.OuterRef("exam_id"))
            .order_by("-version")
            .values("version")[:1]
        )
        return self.filter(version=models.Subquery(latest))

    def verified(self):
        return self.filter(status__in=VERIFIED_STATUSES)


class ReportVersion(models.Model):
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="report_versions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=ReportStatus.choices)
    text = models.TextField(blank=True)
    # When the radiologist verified (signed) it: the patient-release clock starts here.
    verified_at = models.DateTimeField(null=True, blank=True)
    # When it reached the tracker (server clock).
    received_at = models.DateTimeField(default=clock.now, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reports_authored",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports_recorded"
    )
    source = models.CharField(max_length=10, choices=ReportSource.choices)
    history = HistoricalRecords(history_manager=HistoryManager)

    objects = ReportVersionQuerySet.as_manager()

    class Meta:
        ordering = ["exam", "version"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "version"], name="report_version_once"),
            models.CheckConstraint(condition=Q(version__gte=1), name="report_version_from_1"),
            models.CheckConstraint(
                condition=~Q(status__in=VERIFIED_STATUSES) | Q(verified_at__isnull=False),
                name="report_verified_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.exam.accession_number} v{self.version} ({self.get_status_display()})"

    @property
    def is_verified(self):
        return self.status in VERIFIED_STATUSES
