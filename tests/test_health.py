"""Hazard H12: when the escalation engine stops, it shows (on every page, and at /health/)."""

from datetime import timedelta

import pytest
from django.urls import reverse

from tracker import clock as server_clock
from tracker import health
from tracker.models import Escalation, EscalationStatus, EscalationStep, Heartbeat
from tracker.tasks import escalation_sweep

pytestmark = pytest.mark.django_db
ALARM = 'data-testid="escalation-engine-alarm"'


@pytest.fixture(autouse=True)
def alarm_on(settings):
    settings.ESCALATION_HEARTBEAT_ALARM = True
    settings.ESCALATION_HEARTBEAT_STALE_SECONDS = 60
    settings.ESCALATION_DELIVERY_STALE_SECONDS = 120


def test_before_any_sweep_has_run_monitoring_gets_503_and_every_signed_in_page_the_alarm(
    clock, client, radiologist
):
    response = client.get(reverse("health"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["escalation_sweep"] == {
        "running": False,
        "last_completed_at": None,
        "stale_after_seconds": 60,
    }
    client.force_login(radiologist)
    page = client.get(reverse("worklist")).content.decode()
    assert ALARM in page
    assert "No deadline check has completed since the tracker started." in page


def test_a_completed_sweep_clears_the_alarm(clock, client, radiologist):
    escalation_sweep()
    assert Heartbeat.objects.get(name=health.SWEEP).last_beat_at == server_clock.now()
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    client.force_login(radiologist)
    assert ALARM not in client.get(reverse("worklist")).content.decode()


def test_the_alarm_comes_back_when_no_sweep_completes_for_more_than_the_limit(
    clock, client, referrer
):
    escalation_sweep()  # 14:00:00 UTC (GMT in November)
    clock.shift(timedelta(seconds=60))
    assert client.get(reverse("health")).status_code == 200  # 60 s: still within the limit
    clock.shift(timedelta(seconds=1))
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["escalation_sweep"]["running"] is False
    assert response.json()["escalation_sweep"]["last_completed_at"] == "2026-11-23T14:00:00+00:00"
    client.force_login(referrer)
    page = client.get(reverse("inbox")).content.decode()
    assert ALARM in page
    assert "No deadline check has completed since 14:00 GMT" in page


def test_escalations_left_undelivered_raise_the_alarm_even_while_sweeps_run(
    clock, client, flag, governance
):
    finding = flag()
    Escalation.objects.create(
        finding=finding,
        step=EscalationStep.DEADLINE_COVER,
        recipient=governance,
        due_at=finding.contact_due_at,
        next_attempt_at=server_clock.now(),
    )
    escalation_sweep()
    clock.shift(timedelta(seconds=120))
    escalation_sweep()
    assert client.get(reverse("health")).status_code == 200  # 120 s unsent: within the limit
    clock.shift(timedelta(seconds=1))
    escalation_sweep()  # sweeps run, but (in this test) no worker takes the delivery tasks
    response = client.get(reverse("health"))
    assert response.status_code == 503
    body = response.json()
    assert body["escalation_sweep"]["running"] is True
    assert body["escalation_delivery"]["delivering"] is False
    client.force_login(governance)
    page = client.get(reverse("governance:dashboard")).content.decode()
    assert "Escalations have been waiting to be sent since" in page
    assert Escalation.objects.filter(status=EscalationStatus.PENDING).count() == 1


def test_the_sign_in_page_runs_no_engine_check(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("login"))
    assert ALARM not in response.content.decode()
