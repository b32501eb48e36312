"""Send recorded escalations through every channel that reaches their recipients, once each.

A delivery task handles a batch in three steps:

1. **Claim** (one compare-and-set UPDATE, as healthchecks' alert worker does): the batch's
   pending escalations that nobody holds get this worker's token and a lease. A second worker
   given the same ids claims none of them and leaves them. A worker that dies keeps its claim
   only until the lease runs out; then the sweep's redelivery hands the escalation out again.
2. **Send**, one message at a time. Each result is stored the moment the channel answers, in
   its own commit (a `NotificationAttempt`, the receipt), so a crash after the server accepted
   a message never leads to sending it again: the next worker finds the receipt. The window in
   which a message can go out twice is the one between the server's acceptance and that commit,
   as it always was (every message carries a stable key for the receiver to drop a duplicate).
3. **Finish**, in one transaction for the whole batch: the escalations' new status, the history
   rows of the escalations and of the receipts (linked into the audit chain as one block), and
   the claims released. Receipts that a crashed worker left without a history row get theirs.

A failed send is recorded with its error and retried with exponential backoff, up to a limit,
then marked failed (and shown as such). A channel that already delivered is never sent again.
Why batches and not a transaction per message: docs/architecture.md ("Escalation delivery").
"""

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from .. import clock, notify
from ..audit import chain
from ..audit.bulk import allow_bulk
from ..models import Escalation, EscalationStatus, NotificationAttempt
from ..services.base import record_history, update_all_with_history
from . import rules
from .system import system_user

log = logging.getLogger(__name__)

# What the finish step writes on an escalation (the claim is released with it).
FINISH_FIELDS = [
    "status",
    "sent_at",
    "failed_attempts",
    "last_error",
    "next_attempt_at",
    "claimed_by",
    "claimed_until",
]


def backoff(failed_attempts):
    """2, 4, 8, ... seconds, at most ESCALATION_RETRY_MAX_BACKOFF_SECONDS."""
    seconds = min(2**failed_attempts, settings.ESCALATION_RETRY_MAX_BACKOFF_SECONDS)
    return timedelta(seconds=seconds)


def lease():
    return timedelta(seconds=settings.ESCALATION_DELIVERY_LEASE_SECONDS)


def notice_for(escalation):
    finding = escalation.finding
    recipient = escalation.recipient
    due = timezone.localtime(finding.contact_due_at or escalation.due_at)
    category = finding.get_category_display()
    accession = finding.exam.accession_number
    subject = f"[{category}] {escalation.get_step_display()}: exam {accession}"
    body = (
        f"{recipient.display_name},\n\n"
        f"A {category.lower()} imaging finding on exam {accession} is "
        f"{finding.get_status_display().lower()}.\n"
        f"{rules.REASONS[escalation.step]}.\n"
        f"Contact deadline: {due:%H:%M %Z %d/%m/%Y}.\n"
        "Open the finding in the critical result tracker to act on it."
    )
    return notify.Notice(
        key=f"escalation-{escalation.pk}",
        recipient_name=recipient.display_name,
        email=recipient.email,
        bleep=recipient.bleep,
        phone=recipient.phone,
        subject=subject,
        body=body,
        url=f"{settings.SITE_URL.rstrip('/')}/findings/{finding.pk}/",
        data={"step": escalation.step, "category": finding.category, "accession": accession},
    )


def claim(pks, now):
    """Claim the pending, unheld escalations among `pks`; returns them with what their messages
    need (recipient, finding, exam), in id order."""
    token = uuid.uuid4().hex
    # The claim fields are outside the history (scheduling, like next_attempt_at).
    with allow_bulk("a delivery claim is bookkeeping outside the history"):
        free = Escalation.objects.filter(pk__in=pks, status=EscalationStatus.PENDING).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
        )
        free.update(claimed_by=token, claimed_until=now + lease())  # bulk-ok: not history
    return list(
        Escalation.objects.select_related("recipient", "finding__exam")
        .filter(claimed_by=token, status=EscalationStatus.PENDING)
        .order_by("pk")
    )


@dataclass
class Receipts:
    """What was already sent for a batch: (escalation, channel) delivered, and the receipts a
    crashed worker stored without their history row."""

    delivered: set = field(default_factory=set)
    orphans: list = field(default_factory=list)

    @classmethod
    def of(cls, escalations):
        history = NotificationAttempt.history.model.objects.filter(id=OuterRef("pk"))
        receipts = cls()
        attempts = NotificationAttempt.objects.filter(escalation__in=escalations)
        for attempt in attempts.annotate(has_history=Exists(history)).order_by():
            if attempt.succeeded:
                receipts.delivered.add((attempt.escalation_id, attempt.channel))
            if not attempt.has_history:
                attempt._change_reason = (
                    "Delivered" if attempt.succeeded else "Delivery failed"
                ) + " (recorded after its worker stopped)"
                receipts.orphans.append(attempt)
        return receipts


def store_receipt(escalation, channel, ok, detail):
    """The attempt, committed at once (its history row follows in the finish step)."""
    attempt = NotificationAttempt(
        escalation=escalation,
        channel=channel.name,
        attempted_at=clock.now(),
        succeeded=ok,
        detail=detail[:2000],
    )
    attempt._change_reason = "Delivered" if ok else "Delivery failed"
    attempt._history_date = attempt.attempted_at
    with allow_bulk("a receipt's history row is written when its batch finishes"):
        NotificationAttempt.objects.bulk_create([attempt])  # bulk-ok: history in finish()
    return attempt


def _conclude(escalation, status, reason):
    escalation.status = status
    escalation.next_attempt_at = None  # sent_at: from the receipts, when finish() stores it
    escalation._change_reason = reason
    escalation._history_date = clock.now()
    return status


def send_one(escalation, channels, receipts, attempts):
    """Send what is still to send for one claimed escalation; set its outcome on the instance
    (saved by finish()). Returns its status afterwards."""
    if not rules.still_needed(escalation.step, escalation.finding):
        return _conclude(
            escalation,
            EscalationStatus.CANCELLED,
            "Not sent: the finding was "
            f"{escalation.finding.get_status_display().lower()} before it went out",
        )
    reach = notify.channels_for(escalation.recipient, channels)
    if not reach:
        escalation.last_error = "No channel reaches the recipient (no email or bleep)"
        return _conclude(escalation, EscalationStatus.FAILED, escalation.last_error)
    names = sorted(c.name for c in reach)
    for channel in reach:
        if (escalation.pk, channel.name) in receipts.delivered:
            continue
        try:
            detail, ok = channel.send(notice_for(escalation)), True
        except notify.DeliveryError as exc:
            detail, ok = str(exc), False
        attempts.append(store_receipt(escalation, channel, ok, detail))
        if ok:
            continue
        escalation.failed_attempts += 1
        escalation.last_error = detail[:2000]
        if escalation.failed_attempts >= settings.ESCALATION_MAX_ATTEMPTS:
            log.error("Escalation %s failed for good: %s", escalation.pk, detail)
            return _conclude(
                escalation,
                EscalationStatus.FAILED,
                f"Failed after {escalation.failed_attempts} attempts: {detail}",
            )
        log.warning("Escalation %s: %s; retrying later", escalation.pk, detail)
        escalation.next_attempt_at = clock.now() + backoff(escalation.failed_attempts)
        escalation._change_reason = f"Attempt {escalation.failed_attempts} failed: {detail}"
        escalation._history_date = clock.now()
        return "retrying"
    return _conclude(escalation, EscalationStatus.SENT, f"Sent ({', '.join(names)})")


def _store_sent(sent):
    """Sent escalations in one UPDATE: sent_at is when the last channel delivered (the latest
    successful receipt), read from the receipts rather than sent row by row. Returns the rows as
    stored, for their history."""
    if not sent:
        return []
    last_delivery = (
        NotificationAttempt.objects.filter(escalation=OuterRef("pk"), succeeded=True)
        .order_by("-attempted_at")
        .values("attempted_at")[:1]
    )
    rows = Escalation.objects.filter(pk__in=[e.pk for e in sent])
    with allow_bulk("history rows are written for every row just after"):
        rows.update(  # bulk-ok: record_history() below
            status=EscalationStatus.SENT,
            sent_at=Subquery(last_delivery),
            next_attempt_at=None,
            claimed_by="",
            claimed_until=None,
        )
    stored = {e.pk: e for e in rows}
    for escalation in sent:
        row = stored[escalation.pk]
        row._change_reason, row._history_date = escalation._change_reason, row.sent_at
        escalation.sent_at = row.sent_at
    return list(stored.values())


def finish(changed, released, attempts, actor):
    """One transaction: the receipts' history rows, the escalations' outcomes with theirs, and
    every claim of the batch released."""
    for escalation in changed + released:
        escalation.claimed_by, escalation.claimed_until = "", None
    sent = [e for e in changed if e.status == EscalationStatus.SENT]
    others = [e for e in changed if e.status != EscalationStatus.SENT]  # rare: one by one
    with transaction.atomic():
        update_all_with_history(others, FINISH_FIELDS, actor)
        if released:
            with allow_bulk("releasing a claim changes nothing the history records"):
                Escalation.objects.filter(pk__in=[e.pk for e in released]).update(  # bulk-ok: claim
                    claimed_by="", claimed_until=None
                )
        history = record_history(attempts, actor, update=False, link=False)
        history += record_history(_store_sent(sent), actor, update=True, link=False)
        chain.append_many(history)  # last: the chain's head stays locked only until the commit


def deliver_many(pks):
    """Deliver a batch. Returns {status: count}; 'locked' counts escalations another worker
    holds, 'not pending' those sent, cancelled or failed since they were dispatched."""
    actor = system_user()
    channels = notify.enabled_channels()
    claimed_at = clock.now()
    started = time.monotonic()
    escalations = claim(pks, claimed_at)
    counts = {}
    unclaimed = set(pks) - {e.pk for e in escalations}
    if unclaimed:
        held = Escalation.objects.filter(pk__in=unclaimed, status=EscalationStatus.PENDING)
        counts["locked"] = held.count()
        counts["not pending"] = len(unclaimed) - counts["locked"]
    if not escalations:
        return {k: v for k, v in counts.items() if v}
    receipts = Receipts.of(escalations)
    attempts = list(receipts.orphans)
    changed, released = [], []
    # Start no new message after half the lease: the claim must outlast every send it covers.
    send_until = started + lease().total_seconds() / 2
    for channel in channels:
        channel.open()
    try:
        for escalation in escalations:
            if time.monotonic() > send_until:
                released.append(escalation)  # still pending: handed out again by the sweep
                status = "deferred"
            else:
                try:
                    status = send_one(escalation, channels, receipts, attempts)
                except Exception:  # one bad row must not stop the others; it stays pending
                    log.exception("Delivering escalation %s crashed; retried later", escalation.pk)
                    status = "error"
                (released if status == "error" else changed).append(escalation)
            counts[status] = counts.get(status, 0) + 1
    finally:
        for channel in channels:
            channel.close()
        finish(changed, released, attempts, actor)
    return counts
