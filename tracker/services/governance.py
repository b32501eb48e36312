"""Governance writes: the review of a breach. Governance never changes the clinical record."""

from django.core.exceptions import ValidationError
from django.db import transaction

from .. import access
from ..models import BreachReview, Finding, ReviewOutcome
from .base import now, require, save_with_history


def breach_review_record(*, actor, finding, outcome, learning="", incident_reference=""):
    """Record (or correct) the review of a breached finding. A correction keeps the previous
    version in the review's history, naming who changed it."""
    require(access.can_review_breach(actor, finding), "Only a governance lead can review a breach.")
    if outcome not in ReviewOutcome.values:
        raise ValidationError({"outcome": "Choose the review outcome: no harm or harm."})
    learning = (learning or "").strip()
    incident_reference = (incident_reference or "").strip()
    if outcome == ReviewOutcome.HARM and not incident_reference:
        raise ValidationError(
            {"incident_reference": "Harm is an incident: give the incident reference."}
        )
    with transaction.atomic():
        # Lock the finding so two leads saving at once serialise; the finding itself is not
        # written.
        locked = Finding.objects.select_for_update().get(pk=finding.pk)
        if not Finding.objects.breached().filter(pk=locked.pk).exists():
            raise ValidationError({"finding": "This finding was not a breach of its deadline."})
        review = BreachReview.objects.filter(finding=locked).first()
        action = "Breach review corrected" if review else "Breach reviewed"
        review = review or BreachReview(finding=locked)
        review.outcome = outcome
        review.learning = learning
        review.incident_reference = incident_reference
        review.reviewed_by = actor
        review.reviewed_at = now()
        return save_with_history(review, actor, action)
