"""What every service shares: locking, the transition check, history with the acting user."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from .. import clock
from ..escalation import schedule as escalation_schedule
from ..models import Finding
from ..models.findings import TRANSITIONS

now = clock.now


def require(allowed, message):
    if not allowed:
        raise PermissionDenied(message)


def lock_finding(finding):
    """Re-read the finding under a row lock: every read-then-write on it is serialised."""
    return (
        Finding.objects.select_for_update()
        .select_related("flagged_by", "responsible_clinician", "exam")
        .get(pk=finding.pk)
    )


def refuse(finding, action):
    status = finding.get_status_display().lower()
    raise ValidationError({"status": f"Cannot {action}: the finding is {status}."})


def require_status(finding, allowed, action):
    if finding.status not in allowed:
        refuse(finding, action)


def check_transition(finding, target, action):
    if target not in TRANSITIONS[finding.status]:
        refuse(finding, action)


def save_with_history(instance, actor, reason):
    """Save so that the history row names who did it and why, with or without a request."""
    if isinstance(instance, Finding):
        # Any change may bring an escalation forward: the engine looks again (tracker.escalation).
        escalation_schedule.finding_changed(instance)
    instance._history_user = actor
    instance._change_reason = reason
    instance._history_date = now()
    instance.save()
    return instance


def previous_submission(model, submission_key, finding=None):
    """A double submit (same key) returns what the first one recorded."""
    if submission_key is None:
        return None
    existing = model.objects.filter(submission_key=submission_key).first()
    if existing is not None and finding is not None and existing.finding_id != finding.pk:
        raise ValidationError(
            {"submission_key": "This submission key was used for another finding."}
        )
    return existing


def once(model, submission_key, create):
    """Run `create` atomically; if a concurrent double submit won the race, return its result."""
    try:
        with transaction.atomic():
            return create()
    except IntegrityError:
        existing = previous_submission(model, submission_key)
        if existing is None:
            raise
        return existing
