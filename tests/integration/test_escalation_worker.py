"""The escalation engine end to end: Celery beat and worker processes on a real Redis broker,
email to a real SMTP server on loopback, the real (test) database. Faults included."""

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from tracker import clock
from tracker.models import (
    Channel,
    CommunicationPolicy,
    Escalation,
    EscalationStatus,
    EscalationStep,
    NotificationAttempt,
    Outcome,
)
from tracker.models.policy import DEFAULT_POLICIES, Category, default_chain
from tracker.services import findings as services

from .conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

S = EscalationStep
SWEEP_QUEUE = "escalation-sweep"  # the Redis list behind the sweep queue


def flag_minutes_ago(flag, minutes, seconds=0):
    with clock.replay_at(timezone.now() - timedelta(minutes=minutes, seconds=seconds)):
        return flag("critical")


def sent(**filters):
    return Escalation.objects.filter(status=EscalationStatus.SENT, **filters).count()


def critical_policy(**fields):
    """The critical policy row, made if a flush by an earlier transactional test removed it."""
    values = {**DEFAULT_POLICIES[Category.CRITICAL], **fields}
    values["accepted_channels"] = [str(c) for c in values["accepted_channels"]]
    values.setdefault("escalation_chain", default_chain())
    CommunicationPolicy.objects.update_or_create(category=Category.CRITICAL, defaults=values)


def only_chain(*steps):
    critical_policy(escalation_chain=[str(s) for s in steps])


@pytest.fixture(autouse=True)
def default_policy(transactional_db):
    critical_policy()


def test_an_overdue_critical_finding_escalates_once_per_step_and_emails_each_person_once(
    flag, chain_people, celery_processes, smtp
):
    finding = flag_minutes_ago(flag, 76)  # past warning, deadline and breach points
    celery_processes.worker()
    celery_processes.beat()
    wait_until(lambda: sent(finding=finding) == 4, 60, message="4 escalations sent")
    time.sleep(3)  # several more sweeps: nothing more may happen
    people = chain_people
    rows = Escalation.objects.filter(finding=finding)
    assert sorted((e.step, e.sequence) for e in rows) == [
        (S.BREACH_GOVERNANCE, 0),
        (S.DEADLINE_COVER, 0),
        (S.DEADLINE_DEPARTMENT_LEAD, 0),
        (S.WARNING_REMINDER, 0),
    ]
    assert smtp.to() == sorted(
        people[p].email for p in ("radiologist", "cover", "lead", "governance")
    )
    assert people["stranger"].email not in smtp.to()
    assert sorted(smtp.ids()) == sorted(
        f"<escalation-{e.pk}@critical-result-tracker>" for e in rows
    )
    for escalation in rows:
        assert escalation.lateness >= timedelta(0)  # due in the past: recorded how late
        assert escalation.notification_attempts.filter(succeeded=True).count() == 1


def test_two_beats_and_two_workers_sweeping_at_once_still_escalate_each_step_once(
    flag, chain_people, celery_processes, smtp
):
    # 12 findings by one radiologist: let all 12 warning reminders through the hourly cap.
    critical_policy(max_alerts_per_person_per_hour=20)
    findings = [flag_minutes_ago(flag, 61) for _ in range(12)]  # warning + two deadline steps
    for name in ("worker1", "worker2"):
        celery_processes.worker(name, wait=False)
    for name in ("beat1", "beat2"):
        celery_processes.beat(name)
    wait_until(lambda: sent() == 36, 90, message="36 escalations sent")
    time.sleep(3)
    assert Escalation.objects.count() == 36
    assert {f.pk: f.escalations.count() for f in findings} == {f.pk: 3 for f in findings}
    assert len(smtp.ids()) == 36
    assert len(set(smtp.ids())) == 36  # no escalation emailed twice
    assert NotificationAttempt.objects.filter(succeeded=True).count() == 36


def test_a_worker_killed_mid_send_is_retried_and_the_email_goes_out_once(
    flag, chain_people, celery_processes, smtp
):
    only_chain(S.DEADLINE_DEPARTMENT_LEAD)
    finding = flag_minutes_ago(flag, 61)
    smtp.hold_first()
    celery_processes.worker("worker1")
    celery_processes.beat()
    smtp.wait_held()  # the worker is inside the SMTP conversation, waiting for "250"
    celery_processes.kill("worker1")  # SIGKILL: no cleanup, no acknowledgement
    escalation = Escalation.objects.get(finding=finding)
    assert escalation.status == EscalationStatus.PENDING
    assert smtp.ids() == []
    smtp.release()
    celery_processes.worker("worker2")
    wait_until(lambda: sent(finding=finding) == 1, 60, message="the retried escalation")
    time.sleep(4)  # past the redelivery interval: a second send would show now
    assert smtp.to() == [chain_people["lead"].email]
    escalation.refresh_from_db()
    assert escalation.notification_attempts.filter(succeeded=True).count() == 1
    assert escalation.status == EscalationStatus.SENT


def test_with_the_broker_down_at_the_deadline_the_escalation_goes_out_once_late_after_restart(
    flag, chain_people, celery_processes, smtp, own_redis
):
    only_chain(S.DEADLINE_DEPARTMENT_LEAD)
    celery_processes.env["CELERY_BROKER_URL"] = own_redis.url
    finding = flag_minutes_ago(flag, 59, seconds=55)  # due in 5 seconds
    celery_processes.worker()
    celery_processes.beat()
    own_redis.stop()
    outage_started = timezone.now()
    wait_until(lambda: timezone.now() > finding.contact_due_at + timedelta(seconds=5), 30)
    assert not Escalation.objects.exists()  # nothing could run while the broker was down
    own_redis.start()
    wait_until(lambda: sent(finding=finding) == 1, 90, message="the escalation after restart")
    time.sleep(3)
    escalation = Escalation.objects.get(finding=finding)
    assert escalation.due_at == finding.contact_due_at
    assert escalation.lateness >= timedelta(seconds=5)  # late, and it says by how much
    assert escalation.sent_at > outage_started
    assert smtp.to() == [chain_people["lead"].email]


def test_a_rolled_back_request_enqueues_nothing_and_a_committed_one_enqueues_after_commit(
    flag, chain_people, broker
):
    radiologist, referrer = chain_people["radiologist"], chain_people["referrer"]
    finding = flag_minutes_ago(flag, 120)
    with clock.replay_at(finding.flagged_at + timedelta(minutes=5)):
        services.attempt_log(
            actor=radiologist,
            finding=finding,
            channel=Channel.PHONE,
            outcome=Outcome.READ_BACK,
            contacted_user=referrer,
        )
    assert broker.llen(SWEEP_QUEUE) == 0

    # "Not my patient" two hours in: back to awaiting contact, deadline long gone.
    with pytest.raises(RuntimeError), transaction.atomic():
        services.finding_decline(actor=referrer, finding=finding, reason="Not my patient")
        assert broker.llen(SWEEP_QUEUE) == 0  # not before the commit
        raise RuntimeError("the request fails after the service call")
    assert broker.llen(SWEEP_QUEUE) == 0  # rolled back: nothing was sent

    services.finding_decline(actor=referrer, finding=finding, reason="Not my patient")
    assert broker.llen(SWEEP_QUEUE) == 1  # committed: the engine is asked to look now
