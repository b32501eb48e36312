"""What every service shares: locking, the transition check, history with the acting user."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from .. import clock
from ..audit import chain
from ..audit.bulk import allow_bulk
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


def record_history(instances, actor, *, update, link=True):
    """History rows, linked into the audit chain, for rows just written in bulk (simple-history's
    bulk path sends no signal, so the links are appended here). Each instance's reason is its
    `_change_reason`. Call it in the transaction that wrote the rows. With `link=False` the
    caller links the rows it gets back (several models' rows as one block: chain.append_many)."""
    if not instances:
        return []
    model = type(instances[0])
    rows = model.history.bulk_history_create(
        instances, update=update, default_user=actor, default_date=now()
    )
    if link:
        chain.append_many(rows)
    return rows


def update_all_with_history(instances, fields, actor):
    """save_with_history for many rows of one model at once: one UPDATE, one INSERT of their
    history rows and one block of chain links. Not for findings (their saves reschedule the
    escalation engine)."""
    if not instances:
        return
    for instance in instances:
        instance._history_user = actor
    with transaction.atomic(savepoint=False):
        with allow_bulk("history rows are written for every row just below"):
            type(instances[0]).objects.bulk_update(instances, fields)  # bulk-ok: history below
        record_history(instances, actor, update=True)


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
