"""The escalation engine's rules, with frozen time and the engine's steps called directly."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from tests.escalation.helpers import set_policy
from tracker.audit.bulk import allow_bulk
from tracker.escalation import rules
from tracker.escalation.system import SYSTEM_USERNAME
from tracker.models import (
    Channel,
    Escalation,
    EscalationStatus,
    EscalationStep,
    Finding,
    Outcome,
    PlannedAction,
)
from tracker.services import findings as services

from .conftest import run_sweep

pytestmark = pytest.mark.django_db

S = EscalationStep


def steps(finding):
    return sorted((e.step, e.sequence) for e in Escalation.objects.filter(finding=finding))


def mailed_to():
    return sorted(address for m in mail.outbox for address in m.to)


def read_back(finding, radiologist, **kwargs):
    return services.attempt_log(
        actor=radiologist,
        finding=finding,
        channel=Channel.PHONE,
        outcome=Outcome.READ_BACK,
        contacted_user=finding.responsible_clinician,
        **kwargs,
    )


def test_it_reminds_the_flagging_radiologist_at_the_warning_point(clock, flag, chain_people):
    finding = flag("critical")
    clock.shift(timedelta(minutes=29, seconds=59))
    run_sweep()
    assert steps(finding) == []
    clock.shift(timedelta(seconds=1))
    run_sweep()
    assert steps(finding) == [(S.WARNING_REMINDER, 0)]
    assert mailed_to() == [chain_people["radiologist"].email]
    escalation = Escalation.objects.get(finding=finding)
    assert escalation.status == EscalationStatus.SENT
    assert escalation.lateness == timedelta(0)


def test_it_escalates_an_overdue_critical_finding_once_per_step_and_once_per_person(
    clock, flag, chain_people
):
    finding = flag("critical")
    clock.shift(timedelta(minutes=30))
    run_sweep()
    clock.shift(timedelta(minutes=30, seconds=1))  # one second past the deadline
    run_sweep()
    run_sweep()
    assert steps(finding) == [
        (S.DEADLINE_COVER, 0),
        (S.DEADLINE_DEPARTMENT_LEAD, 0),
        (S.WARNING_REMINDER, 0),
        (S.WARNING_REMINDER, 1),  # the reminder repeats after 15 minutes (at 45)
    ]
    clock.shift(timedelta(minutes=15))  # breach: still not communicated one interval later
    for _ in range(3):
        run_sweep()
    people = chain_people
    assert (S.BREACH_GOVERNANCE, 0) in steps(finding)
    assert mailed_to().count(people["cover"].email) == 1
    assert mailed_to().count(people["lead"].email) == 1
    assert mailed_to().count(people["governance"].email) == 1
    assert people["stranger"].email not in mailed_to()
    assert all(e.status == EscalationStatus.SENT for e in Escalation.objects.all())


def test_a_finding_communicated_one_second_before_its_deadline_escalates_nothing(
    clock, flag, chain_people
):
    finding = flag("critical")
    clock.shift(timedelta(minutes=30))
    run_sweep()  # the warning reminder
    mail.outbox.clear()
    clock.shift(timedelta(minutes=29, seconds=59))
    read_back(finding, chain_people["radiologist"])
    for _ in range(4):
        clock.shift(timedelta(minutes=10))  # well past the deadline and the breach point
        run_sweep()
    assert steps(finding) == [(S.WARNING_REMINDER, 0)]
    assert mail.outbox == []


def test_reminders_repeat_every_interval_until_the_finding_is_communicated(
    clock, flag, chain_people
):
    set_policy("critical", escalation_chain=[S.WARNING_REMINDER], max_alerts_per_person_per_hour=10)
    finding = flag("critical")
    for _ in range(4):
        clock.shift(timedelta(minutes=15) if steps(finding) else timedelta(minutes=30))
        run_sweep()
    assert steps(finding) == [(S.WARNING_REMINDER, n) for n in range(4)]
    read_back(finding, chain_people["radiologist"], breach_reason="referrer_unreachable")
    clock.shift(timedelta(minutes=45))
    run_sweep()
    assert len(steps(finding)) == 4
    assert mailed_to() == [chain_people["radiologist"].email] * 4


def test_it_never_sends_one_person_more_reminders_an_hour_than_the_policy_allows(
    clock, flag, chain_people, exam
):
    set_policy(
        "critical",
        escalation_chain=[S.WARNING_REMINDER],
        reminder_interval=timedelta(minutes=5),
        max_alerts_per_person_per_hour=3,
    )
    findings = [flag("critical") for _ in range(2)]
    clock.shift(timedelta(minutes=30))
    times = []
    for _ in range(36):  # three hours in 5-minute steps
        run_sweep()
        times += [
            e.created_at
            for e in Escalation.objects.filter(status=EscalationStatus.SENT)
            if e.created_at not in times
        ]
        clock.shift(timedelta(minutes=5))
    times.sort()
    assert len(times) >= 6  # reminders keep coming while it is not communicated...
    for i, t in enumerate(times):  # ...but never more than 3 in any hour
        assert len([u for u in times[i:] if u < t + timedelta(hours=1)]) <= 3
    assert {e.finding_id for e in Escalation.objects.all()} == {f.pk for f in findings}


def test_it_reminds_the_clinician_to_acknowledge_until_they_do(clock, flag, chain_people):
    finding = flag("critical")
    read_back(finding, chain_people["radiologist"])
    clock.shift(timedelta(hours=1))
    run_sweep()
    assert steps(finding) == [(S.ACK_REMINDER, 0)]
    assert mailed_to() == [chain_people["referrer"].email]
    clock.shift(timedelta(minutes=15))
    run_sweep()
    assert steps(finding) == [(S.ACK_REMINDER, 0), (S.ACK_REMINDER, 1)]
    services.finding_acknowledge(
        actor=chain_people["referrer"], finding=finding, planned_action=PlannedAction.ADMITTED
    )
    clock.shift(timedelta(hours=2))
    run_sweep()
    assert len(steps(finding)) == 2
    assert Finding.objects.get(pk=finding.pk).next_escalation_at is None


def test_a_step_with_nobody_to_tell_is_recorded_as_skipped(clock, flag, referrer, radiologist):
    finding = flag("critical")
    clock.shift(timedelta(hours=1, seconds=1))
    run_sweep()
    cover = Escalation.objects.get(finding=finding, step=S.DEADLINE_COVER)
    assert cover.status == EscalationStatus.SKIPPED
    assert cover.recipient is None


def test_a_step_left_out_of_the_policy_chain_is_not_taken(clock, flag, chain_people):
    set_policy("critical", escalation_chain=[S.DEADLINE_DEPARTMENT_LEAD])
    finding = flag("critical")
    clock.shift(timedelta(hours=2))
    run_sweep()
    assert steps(finding) == [(S.DEADLINE_DEPARTMENT_LEAD, 0)]
    assert mailed_to() == [chain_people["lead"].email]


def test_the_database_refuses_a_second_row_for_the_same_step(clock, flag, chain_people):
    finding = flag("critical")
    clock.shift(timedelta(hours=1, seconds=1))
    run_sweep()
    with pytest.raises(IntegrityError), transaction.atomic():
        Escalation.objects.create(
            finding=finding, step=S.DEADLINE_COVER, sequence=0, due_at=finding.contact_due_at
        )


def test_the_history_names_the_system_user(clock, flag, chain_people):
    finding = flag("critical")
    clock.shift(timedelta(hours=1, seconds=1))
    run_sweep()
    escalation = Escalation.objects.get(finding=finding, step=S.DEADLINE_COVER)
    history = list(escalation.history.order_by("history_id"))
    assert [h.history_user.username for h in history] == [SYSTEM_USERNAME] * 2
    assert [h.status for h in history] == ["pending", "sent"]
    assert history[0].history_change_reason == rules.REASONS[S.DEADLINE_COVER]
    system = history[0].history_user
    assert not system.has_usable_password() and not system.is_active
    attempt = escalation.notification_attempts.get()
    assert attempt.succeeded and attempt.channel == "email"


def test_a_finding_communicated_after_the_step_was_recorded_is_not_sent(clock, flag, chain_people):
    finding = flag("critical")
    clock.shift(timedelta(hours=1, seconds=1))
    from tracker.escalation import engine

    ids = []
    engine.sweep(dispatch=ids.extend)  # recorded, not yet delivered
    read_back(finding, chain_people["radiologist"], breach_reason="referrer_unreachable")
    from tracker.escalation import delivery

    delivery.deliver_many(ids)
    assert {e.status for e in Escalation.objects.filter(pk__in=ids)} == {EscalationStatus.CANCELLED}
    assert mail.outbox == []


def test_a_decline_after_the_deadline_asks_the_engine_to_look_at_once(
    clock, flag, chain_people, django_capture_on_commit_callbacks
):
    finding = flag("critical")
    read_back(finding, chain_people["radiologist"])
    clock.shift(timedelta(hours=2))
    with django_capture_on_commit_callbacks() as callbacks:
        services.finding_decline(
            actor=chain_people["referrer"], finding=finding, reason="Not my patient"
        )
    finding.refresh_from_db()
    assert finding.next_escalation_at <= finding.contact_due_at
    assert len(callbacks) == 1  # a sweep is enqueued after commit
    run_sweep()
    assert (S.DEADLINE_COVER, 0) in steps(finding)


def test_a_stranger_is_never_told(clock, flag, chain_people):
    flag("critical")
    clock.shift(timedelta(hours=3))
    for _ in range(3):
        run_sweep()
        clock.shift(timedelta(minutes=15))
    assert mail.outbox
    assert not Escalation.objects.filter(recipient=chain_people["stranger"]).exists()
    assert chain_people["stranger"].email not in mailed_to()


def test_when_the_python_check_is_fooled_the_database_rule_still_records_a_step_once(
    clock, flag, chain_people, monkeypatch
):
    """As if two sweeps raced past the lock: the plan offers steps that are already recorded."""
    finding = flag("critical")
    clock.shift(timedelta(hours=1, seconds=1))
    run_sweep()
    before = steps(finding)
    sent_before = len(mail.outbox)
    recorded = [
        rules.DueStep(e.step, e.sequence, e.due_at)
        for e in Escalation.objects.filter(finding=finding)
    ]
    monkeypatch.setattr(rules, "plan", lambda *args: (recorded, None))
    with allow_bulk("test: a scheduling field outside the history"):
        Finding.objects.filter(pk=finding.pk).update(next_escalation_at=finding.contact_due_at)
    run_sweep()  # the unique constraint refuses every row; the sweep carries on
    assert steps(finding) == before
    assert len(mail.outbox) == sent_before
