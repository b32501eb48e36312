"""Delivery in batches: the claim keeps two workers apart, the receipt of every send is stored at
once so a worker that dies after a send never sends it again, and the batch's history is
complete and chained."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command

from tracker import clock as tracker_clock
from tracker.escalation import delivery, engine
from tracker.models import Escalation, EscalationStatus

pytestmark = pytest.mark.django_db


def record_overdue(clock, flag, count=1):
    """Findings past their deadline with their steps recorded, nothing sent yet."""
    findings = [flag("critical") for _ in range(count)]
    clock.shift(timedelta(minutes=60, seconds=1))
    recorded = []
    engine.sweep(dispatch=recorded.extend)
    return findings, recorded


def test_a_batch_sends_each_escalation_once_and_writes_its_history(clock, flag, chain_people):
    _, ids = record_overdue(clock, flag, count=3)
    assert len(ids) == 9  # per finding: warning reminder, covering colleague, department lead

    counts = delivery.deliver_many(ids)

    assert counts == {EscalationStatus.SENT: 9}
    assert len(mail.outbox) == 9
    for escalation in Escalation.objects.filter(pk__in=ids):
        assert escalation.status == EscalationStatus.SENT
        assert escalation.claimed_by == "" and escalation.claimed_until is None
        attempt = escalation.notification_attempts.get()
        assert escalation.sent_at == attempt.attempted_at  # when the last channel delivered
        reasons = [h.history_change_reason for h in escalation.history.order_by("history_id")]
        assert len(reasons) == 2 and reasons[-1] == "Sent (email)"  # recorded, then sent
        assert attempt.history.get().history_change_reason == "Delivered"
    call_command("verify_audit")  # the block-appended links verify like the others


def test_a_second_worker_given_a_claimed_batch_sends_nothing(clock, flag, chain_people):
    _, ids = record_overdue(clock, flag)
    held = delivery.claim(ids, tracker_clock.now())  # the first worker, still sending
    assert len(held) == len(ids)

    assert delivery.deliver_many(ids) == {"locked": len(ids)}
    assert mail.outbox == []

    clock.shift(delivery.lease())  # the first worker died: its claim runs out
    assert delivery.deliver_many(ids) == {EscalationStatus.SENT: len(ids)}
    assert len(mail.outbox) == len(ids)


def test_a_send_whose_worker_died_before_the_batch_finished_is_not_sent_again(
    clock, flag, chain_people
):
    _, ids = record_overdue(clock, flag)
    first = Escalation.objects.select_related("recipient").get(pk=min(ids))
    # What a worker killed after the server accepted the email leaves: the receipt, committed
    # on its own; no history row for it yet, the escalation still pending and claimed.
    delivery.claim([first.pk], tracker_clock.now())
    channel = delivery.notify.enabled_channels()[0]
    delivery.store_receipt(first, channel, True, f"email accepted for {first.recipient.email}")
    clock.shift(delivery.lease())

    delivery.deliver_many(ids)

    first.refresh_from_db()
    assert first.status == EscalationStatus.SENT
    assert first.recipient.email not in [m.to[0] for m in mail.outbox]  # not emailed twice
    assert len(mail.outbox) == len(ids) - 1
    attempt = first.notification_attempts.get()
    assert attempt.history.get().history_change_reason == (
        "Delivered (recorded after its worker stopped)"
    )
    call_command("verify_audit")


def test_a_batch_that_runs_past_half_its_lease_leaves_the_rest_for_later(
    clock, flag, chain_people, settings
):
    _, ids = record_overdue(clock, flag)
    settings.ESCALATION_DELIVERY_LEASE_SECONDS = 0  # every send would start too late

    assert delivery.deliver_many(ids) == {"deferred": len(ids)}

    assert mail.outbox == []
    for escalation in Escalation.objects.filter(pk__in=ids):
        assert escalation.status == EscalationStatus.PENDING
        assert escalation.claimed_by == ""  # released: the next delivery may take it
    settings.ESCALATION_DELIVERY_LEASE_SECONDS = 60
    assert delivery.deliver_many(ids) == {EscalationStatus.SENT: len(ids)}
