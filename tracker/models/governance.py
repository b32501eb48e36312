"""What governance records about the clinical record, never in it: the review of a breach."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from .findings import Finding
from .history import HistoryManager


class ReviewOutcome(models.TextChoices):
    NO_HARM = "no_harm", "Reviewed, no harm"
    HARM = "harm", "Reviewed, harm"


class BreachReview(models.Model):
    """A governance lead's review of one breached finding. Corrections are new history rows."""

    finding = models.OneToOneField(Finding, on_delete=models.PROTECT, related_name="breach_review")
    outcome = models.CharField(max_length=20, choices=ReviewOutcome.choices)
    learning = models.TextField(blank=True, help_text="What the department will change.")
    incident_reference = models.CharField(
        max_length=60, blank=True, help_text="Incident reporting system reference (e.g. Datix)."
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="breach_reviews"
    )
    reviewed_at = models.DateTimeField(editable=False)
    history = HistoricalRecords(history_manager=HistoryManager)

    class Meta:
        ordering = ["-reviewed_at"]
        constraints = [
            # Harm is a reportable incident: it must carry the incident reference.
            models.CheckConstraint(
                condition=~models.Q(outcome="harm") | ~models.Q(incident_reference=""),
                name="breach_review_harm_has_incident",
            ),
        ]

    def __str__(self):
        return f"{self.get_outcome_display()} (finding {self.finding_id})"
