"""The sweep: claim the findings whose next escalation time has come, record each due step once,
and hand the recorded steps to the delivery workers.

Exactly once: a finding is claimed with `select_for_update(skip_locked=True)` (two sweeps at once
take different findings), and the UniqueConstraint(finding, step, sequence) refuses a second row
for the same step even if two sweeps did meet on one finding. Nothing here sends anything.
"""

import logging
import time
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from .. import clock
from ..audit.bulk import allow_bulk
from ..models import CommunicationPolicy, Escalation, EscalationStatus, Finding, User
from ..services.base import record_history
from . import rules
from .system import system_user

log = logging.getLogger(__name__)

CAP_WINDOW = timedelta(hours=1)


def redeliver_after():
    """How long a handed-out escalation may stay pending before the sweep hands it out again."""
    return timedelta(seconds=settings.ESCALATION_REDELIVER_AFTER_SECONDS)


class Policies(dict):
    """The policy in force per category, read once per sweep."""

    def __missing__(self, category):
        policy = self[category] = CommunicationPolicy.for_category(category)
        return policy


def escalate_batch(pks, *, now, policies, governance, actor):
    """Record every step now due for these findings, in one transaction. Returns the ids of the
    new pending escalations.

    Findings are locked with SKIP LOCKED (another sweep has the others); the rows are inserted
    in one statement and their history rows in another, linked into the audit chain as one block
    (tracker.services.base.record_history). If the database still refuses a row (recorded by a
    concurrent sweep), the batch is redone one finding at a time, and a finding refused again is
    left to the next sweep, which will see the row.
    """
    try:
        return _escalate_batch(pks, now=now, policies=policies, governance=governance, actor=actor)
    except IntegrityError:
        if len(pks) == 1:
            log.info("Escalation for finding %s already recorded by another sweep", pks[0])
            return []
    created = []
    for pk in pks:
        created += escalate_batch(
            [pk], now=now, policies=policies, governance=governance, actor=actor
        )
    return created


def _escalate_batch(pks, *, now, policies, governance, actor):
    with transaction.atomic():
        findings = list(
            Finding.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(
                "flagged_by",
                "exam__referring_department__lead",
                "responsible_clinician__covering_colleague",
                "responsible_clinician__department__lead",
            )
            .filter(pk__in=pks, next_escalation_at__lte=now)
            .order_by("pk")
        )
        if not findings:
            return []
        existing = defaultdict(dict)
        for e in Escalation.objects.filter(finding__in=findings):
            existing[e.finding_id][(e.step, e.sequence)] = e
        due = {
            f.pk: [
                (step, rules.recipient_for(step.step, f, governance))
                for step in rules.plan(f, policies[f.category], existing[f.pk], now)[0]
            ]
            for f in findings
        }
        recent = _lock_and_count_recent(
            {r.pk for steps in due.values() for step, r in steps if step.is_reminder and r}, now
        )
        new, deferred = [], defaultdict(list)
        for finding in findings:
            policy = policies[finding.category]
            for step, recipient in due[finding.pk]:
                if step.is_reminder and recipient is not None:
                    times = recent[recipient.pk]
                    cap = policy.max_alerts_per_person_per_hour
                    if len(times) >= cap:
                        deferred[finding.pk].append(sorted(times)[-cap] + CAP_WINDOW)
                        continue
                    times.append(now)
                escalation = Escalation(
                    finding=finding,
                    step=step.step,
                    sequence=step.sequence,
                    recipient=recipient,
                    due_at=step.due_at,
                    created_at=now,
                    status=EscalationStatus.PENDING if recipient else EscalationStatus.SKIPPED,
                    next_attempt_at=now + redeliver_after() if recipient else None,
                )
                existing[finding.pk][(step.step, step.sequence)] = escalation
                new.append(escalation)
        for escalation in new:
            reason = rules.REASONS[escalation.step]
            if escalation.recipient is None:
                reason += " (skipped: nobody to tell)"
            escalation._change_reason = reason
            escalation._history_date = now
        with allow_bulk("their history rows are written by record_history() below"):
            Escalation.objects.bulk_create(new)  # bulk-ok: record_history() below
        for finding in findings:
            later = [
                s.due_at
                for s in rules.candidates(
                    finding, policies[finding.category], existing[finding.pk], now
                )
            ]
            later = [t for t in later if t > now] + deferred[finding.pk]
            finding.next_escalation_at = min(later, default=None)
        # next_escalation_at is excluded from the history: a bulk update loses no audit.
        with allow_bulk("next_escalation_at is a scheduling field outside the history"):
            Finding.objects.bulk_update(findings, ["next_escalation_at"])  # bulk-ok: see above
        # Last before the commit: the audit chain's head is locked from here until it.
        record_history(new, actor, update=False)
    return [e.pk for e in new if e.status == EscalationStatus.PENDING]


def _lock_and_count_recent(recipient_ids, now):
    """Lock the people about to be reminded (in pk order: no deadlock between two sweeps) and
    list when each was alerted in the last hour."""
    recent = defaultdict(list)
    if not recipient_ids:
        return recent
    list(User.objects.select_for_update().filter(pk__in=recipient_ids).order_by("pk").values("pk"))
    for recipient_id, created_at in Escalation.objects.filter(
        recipient_id__in=recipient_ids,
        created_at__gt=now - CAP_WINDOW,
        status__in=[EscalationStatus.PENDING, EscalationStatus.SENT],
    ).values_list("recipient_id", "created_at"):
        recent[recipient_id].append(created_at)
    return recent


def _escalate_chunk(pks, **kwargs):
    try:
        return escalate_batch(pks, **kwargs)
    except Exception:  # one bad finding must not stop every alert
        log.exception("Escalation sweep failed on a batch; trying one finding at a time")
    created = []
    for pk in pks:
        try:
            created += escalate_batch([pk], **kwargs)
        except Exception:
            log.exception("Escalation sweep failed on finding %s; will retry", pk)
    return created


def due_finding_ids(now, limit, exclude=()):
    return list(
        Finding.objects.filter(next_escalation_at__lte=now)
        .exclude(pk__in=exclude)
        .order_by("next_escalation_at")
        .values_list("pk", flat=True)[:limit]
    )


def claim_for_redelivery(now, limit=500):
    """Pending escalations whose delivery is due again (a retry, or a lost/unsent task)."""
    with transaction.atomic():
        rows = list(
            Escalation.objects.select_for_update(skip_locked=True)
            .filter(status=EscalationStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .only("pk", "created_at", "next_attempt_at")[:limit]
        )
        for row in rows:
            # Wait at least as long as it has been pending: a lost message comes back after
            # 30 s, but a long delivery backlog is not flooded with copies (30, 60, 120 s, ...).
            row.next_attempt_at = now + max(redeliver_after(), now - row.created_at)
        # next_attempt_at is excluded from the history: a bulk update loses no audit.
        with allow_bulk("next_attempt_at is a scheduling field outside the history"):
            Escalation.objects.bulk_update(rows, ["next_attempt_at"])  # bulk-ok: see above
    return [row.pk for row in rows]


def sweep(*, dispatch, now=None, batch=500, chunk=50, budget_seconds=None):
    """One run: record what is due and dispatch it; then hand out pending retries again.

    `dispatch(ids)` sends the ids to the delivery workers; it is called after each batch's
    transactions have committed. Returns (findings looked at, escalations dispatched).
    """
    budget = settings.ESCALATION_SWEEP_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    started = time.monotonic()
    now = now or clock.now()
    policies = Policies()
    governance = rules.governance_lead()
    actor = system_user()
    looked_at = dispatched = 0
    seen = set()  # looked at in this run (or locked by another sweep): not again
    while True:
        ids = due_finding_ids(now, batch, exclude=seen)
        if not ids:
            break
        seen.update(ids)
        looked_at += len(ids)
        for start in range(0, len(ids), chunk):
            created = _escalate_chunk(
                ids[start : start + chunk],
                now=now,
                policies=policies,
                governance=governance,
                actor=actor,
            )
            if created:
                dispatch(created)  # committed: the workers can start on these now
                dispatched += len(created)
        if len(ids) < batch or time.monotonic() - started > budget:
            # Caught up (or out of time): the next sweep, a second away, takes what falls due
            # from now on. Chasing each new due step here would hand the workers batches of one
            # or two, and a delivery task costs about as much again as the messages it sends.
            break
        now = clock.now()
    retry_ids = claim_for_redelivery(clock.now())
    if retry_ids:
        dispatch(retry_ids)
        dispatched += len(retry_ids)
    return looked_at, dispatched
