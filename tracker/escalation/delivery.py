"""Send a recorded escalation through every channel that reaches its recipient, once.

Each channel is sent inside a transaction that holds the escalation's row lock
(`select_for_update(skip_locked=True)`): a second worker given the same escalation finds it
locked and leaves it. A crash mid-send rolls the transaction back and releases the lock; the
escalation stays pending and is handed out again (broker redelivery, or the sweep once
`next_attempt_at` passes). A channel that already delivered is never sent again. A failed send
is recorded with its error and retried with exponential backoff, up to a limit, then marked
failed (and shown as such).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .. import clock, notify
from ..models import Escalation, EscalationStatus, NotificationAttempt
from ..services.base import save_with_history
from . import rules
from .system import system_user

log = logging.getLogger(__name__)


def backoff(failed_attempts):
    """2, 4, 8, ... seconds, at most ESCALATION_RETRY_MAX_BACKOFF_SECONDS."""
    seconds = min(2**failed_attempts, settings.ESCALATION_RETRY_MAX_BACKOFF_SECONDS)
    return timedelta(seconds=seconds)


def _lock(pk, channels):
    """The escalation under its row lock, with its finding's status as of now and, per channel,
    whether that channel already delivered it (`delivered_<name>`): one statement."""
    delivered = {
        f"delivered_{channel.name}": Exists(
            NotificationAttempt.objects.filter(
                escalation=OuterRef("pk"), channel=channel.name, succeeded=True
            )
        )
        for channel in channels
    }
    locked = (
        Escalation.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("finding")
        .annotate(**delivered)
        .filter(pk=pk)
        .order_by()  # one row by its key: no sort (.first() would add one)
    )
    return next(iter(locked), None)


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


def _finish(escalation, actor, status, reason):
    escalation.status = status
    escalation.next_attempt_at = None
    if status == EscalationStatus.SENT:
        escalation.sent_at = clock.now()
    save_with_history(escalation, actor, reason)


def deliver(pk, channels=None, actor=None, content=None):
    """Deliver one escalation. Returns its status afterwards ('locked' if another worker has it).

    `content`: the same escalation read beforehand with its recipient and the finding's exam
    (deliver_many reads a whole batch at once); they fill the message, while the status, the
    finding's status and what was delivered already are read under the lock.
    """
    actor = actor or system_user()
    channels = notify.enabled_channels() if channels is None else channels
    if content is None:
        content = Escalation.objects.select_related("recipient", "finding__exam").get(pk=pk)
    delivered = []
    while True:
        with transaction.atomic():
            escalation = _lock(pk, channels)
            if escalation is None:
                return "locked"  # another worker is sending it right now
            if escalation.status != EscalationStatus.PENDING:
                return escalation.status
            if not rules.still_needed(escalation.step, escalation.finding):
                _finish(
                    escalation,
                    actor,
                    EscalationStatus.CANCELLED,
                    "Not sent: the finding was "
                    f"{escalation.finding.get_status_display().lower()} before it went out",
                )
                return escalation.status
            escalation.recipient = content.recipient  # set when recorded, never changed
            escalation.finding.exam = content.finding.exam
            reach = notify.channels_for(escalation.recipient, channels)
            if not reach:
                escalation.last_error = "No channel reaches the recipient (no email or bleep)"
                _finish(escalation, actor, EscalationStatus.FAILED, escalation.last_error)
                return escalation.status
            done = {c.name for c in reach if getattr(escalation, f"delivered_{c.name}")}
            todo = [c for c in reach if c.name not in done]
            if not todo:
                names = ", ".join(sorted(done | set(delivered)))
                _finish(escalation, actor, EscalationStatus.SENT, f"Sent ({names})")
                return escalation.status
            channel = todo[0]
            try:
                detail = channel.send(notice_for(escalation))
                ok = True
            except notify.DeliveryError as exc:
                detail, ok = str(exc), False
            attempt = NotificationAttempt(
                escalation=escalation,
                channel=channel.name,
                attempted_at=clock.now(),
                succeeded=ok,
                detail=detail[:2000],
            )
            save_with_history(attempt, actor, "Delivered" if ok else "Delivery failed")
            if ok:
                delivered.append(channel.name)
                if len(todo) == 1:  # the last channel: done, in the same transaction
                    names = ", ".join(sorted(done | set(delivered)))
                    _finish(escalation, actor, EscalationStatus.SENT, f"Sent ({names})")
                    return escalation.status
                continue
            escalation.failed_attempts += 1
            escalation.last_error = detail[:2000]
            if escalation.failed_attempts >= settings.ESCALATION_MAX_ATTEMPTS:
                _finish(
                    escalation,
                    actor,
                    EscalationStatus.FAILED,
                    f"Failed after {escalation.failed_attempts} attempts: {detail}",
                )
                log.error("Escalation %s failed for good: %s", pk, detail)
            else:
                escalation.next_attempt_at = clock.now() + backoff(escalation.failed_attempts)
                save_with_history(
                    escalation, actor, f"Attempt {escalation.failed_attempts} failed: {detail}"
                )
                log.warning("Escalation %s: %s; retrying later", pk, detail)
            return escalation.status


def deliver_many(pks):
    """Deliver a batch: one read for the content of its messages, one connection per channel,
    and one transaction (lock, send, record) per escalation. Returns {status: count}."""
    actor = system_user()
    channels = notify.enabled_channels()
    contents = {
        e.pk: e
        for e in Escalation.objects.select_related("recipient", "finding__exam").filter(
            pk__in=pks, status=EscalationStatus.PENDING
        )
    }
    counts = {}
    if len(set(pks)) > len(contents):  # sent, cancelled or failed since they were dispatched
        counts["not pending"] = len(set(pks)) - len(contents)
    for channel in channels:
        channel.open()
    try:
        for pk in sorted(contents):
            try:
                status = deliver(pk, channels=channels, actor=actor, content=contents[pk])
            except Exception:  # one bad row must not stop the others; it stays pending
                log.exception("Delivering escalation %s crashed; it will be retried", pk)
                status = "error"
            counts[status] = counts.get(status, 0) + 1
    finally:
        for channel in channels:
            channel.close()
    return counts
