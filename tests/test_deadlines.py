"""Deadline maths: absolute durations from the flag time, stored in UTC, shown in local time."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from tracker.models import BreachReason, Channel, CommunicationPolicy, Finding, Outcome, Status
from tracker.services import findings as services

LONDON = ZoneInfo("Europe/London")
pytestmark = pytest.mark.django_db


def log_read_back(finding, radiologist, **kwargs):
    return services.attempt_log(
        actor=radiologist,
        finding=finding,
        channel=Channel.PHONE,
        outcome=Outcome.READ_BACK,
        contacted_user=finding.responsible_clinician,
        **kwargs,
    )


def test_it_gives_a_critical_finding_one_hour_and_warns_at_half_time(clock, flag):
    finding = flag("critical")
    assert finding.flagged_at == timezone.now()
    assert finding.contact_due_at == finding.flagged_at + timedelta(hours=1)
    assert finding.warning_at == finding.flagged_at + timedelta(minutes=30)


def test_it_gives_a_significant_finding_24_hours_and_routine_none(clock, flag):
    assert flag("significant").contact_due_at == timezone.now() + timedelta(hours=24)
    routine = flag("routine")
    assert routine.contact_due_at is None
    assert routine.deadline_state(timezone.now()).state == "none"


def test_read_back_at_exactly_60_minutes_is_on_time(clock, flag, radiologist):
    finding = flag("critical")
    clock.shift(timedelta(minutes=60))
    log_read_back(finding, radiologist)
    finding.refresh_from_db()
    assert finding.status == Status.COMMUNICATED
    assert not finding.was_communicated_late
    assert finding.breach_reason == ""
    assert Finding.objects.communicated_on_time().filter(pk=finding.pk).exists()
    assert not Finding.objects.breached().filter(pk=finding.pk).exists()


def test_read_back_at_60_minutes_1_second_is_late_and_asks_why(clock, flag, radiologist):
    finding = flag("critical")
    clock.shift(timedelta(minutes=60, seconds=1))
    with pytest.raises(Exception) as refused:
        log_read_back(finding, radiologist)
    assert "breach_reason" in refused.value.message_dict
    assert finding.attempts.count() == 0  # nothing recorded without the reason

    log_read_back(finding, radiologist, breach_reason=BreachReason.REFERRER_UNREACHABLE)
    finding.refresh_from_db()
    assert finding.was_communicated_late
    assert finding.breach_reason == BreachReason.REFERRER_UNREACHABLE
    assert Finding.objects.breached().filter(pk=finding.pk).exists()


def test_overdue_and_due_within_at_the_boundary(clock, flag):
    finding = flag("critical")
    clock.shift(timedelta(minutes=60))
    now = timezone.now()
    assert not Finding.objects.overdue(now).filter(pk=finding.pk).exists()
    assert Finding.objects.due_within(timedelta(minutes=1), now).filter(pk=finding.pk).exists()
    assert finding.deadline_state(now).state == "warning"
    clock.shift(timedelta(seconds=1))
    now = timezone.now()
    assert Finding.objects.overdue(now).filter(pk=finding.pk).exists()
    assert not Finding.objects.due_within(timedelta(hours=1), now).filter(pk=finding.pk).exists()
    assert finding.deadline_state(now).state == "overdue"
    assert finding.deadline_state(now).remaining == timedelta(seconds=-1)


def test_the_deadline_is_an_absolute_hour_across_the_autumn_clock_change(flag, radiologist):
    # 25 Oct 2026: clocks go back at 02:00 BST to 01:00 GMT. Flagged 00:30 BST (23:30 UTC).
    flagged_local = datetime(2026, 10, 25, 0, 30, tzinfo=LONDON)
    with time_machine.travel(flagged_local, tick=False):
        finding = flag("critical")
    assert finding.flagged_at == datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert finding.contact_due_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    local_due = finding.contact_due_at.astimezone(LONDON)
    assert (local_due.hour, local_due.minute, local_due.tzname()) == (1, 30, "BST")

    # Flagged at the first 01:30 BST: due an hour later, which the wall clock also calls 01:30.
    with time_machine.travel(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), tick=False):
        second = flag("critical")
    local_due = second.contact_due_at.astimezone(LONDON)
    assert (local_due.hour, local_due.minute, local_due.tzname()) == (1, 30, "GMT")
    assert second.contact_due_at - second.flagged_at == timedelta(hours=1)


def test_a_significant_finding_over_the_spring_clock_change_gets_24_real_hours(flag):
    # 29 Mar 2026: clocks go forward at 01:00 GMT to 02:00 BST. Flagged 12:00 GMT on the 28th.
    with time_machine.travel(datetime(2026, 3, 28, 12, 0, tzinfo=LONDON), tick=False):
        finding = flag("significant")
    due_local = finding.contact_due_at.astimezone(LONDON)
    assert finding.contact_due_at - finding.flagged_at == timedelta(hours=24)
    assert (due_local.day, due_local.hour, due_local.tzname()) == (29, 13, "BST")


def test_a_policy_change_does_not_move_existing_deadlines(clock, flag):
    before = flag("critical")
    policy = CommunicationPolicy.objects.get(category="critical")
    policy.contact_deadline = timedelta(minutes=30)
    policy.save()
    before.refresh_from_db()
    assert before.contact_due_at == before.flagged_at + timedelta(hours=1)
    after = flag("critical")
    assert after.contact_due_at == after.flagged_at + timedelta(minutes=30)


def test_a_site_can_rename_a_category_and_set_its_own_window(clock, flag):
    policy = CommunicationPolicy.objects.get(category="significant")
    policy.label, policy.contact_deadline = "Urgent", timedelta(hours=4)
    policy.save()  # as the admin does; QuerySet.update() would bypass history
    finding = flag("significant")
    assert finding.contact_due_at - finding.flagged_at == timedelta(hours=4)
    assert str(CommunicationPolicy.objects.get(category="significant")) == "Urgent"


def test_acknowledgement_window_starts_at_communication(clock, flag, radiologist):
    finding = flag("critical")
    clock.shift(timedelta(minutes=10))
    log_read_back(finding, radiologist)
    finding.refresh_from_db()
    assert finding.acknowledgement_due_at == timezone.now() + timedelta(hours=1)
    clock.shift(timedelta(hours=1, seconds=1))
    assert Finding.objects.acknowledgement_overdue().filter(pk=finding.pk).exists()
    assert Finding.objects.unacknowledged().filter(pk=finding.pk).exists()
