"""Channels: the webhook retries with backoff and records every attempt; a channel that
delivered is never sent again when another one is retried."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from tests.escalation.helpers import set_policy
from tracker.models import (
    Escalation,
    EscalationStatus,
    EscalationStep,
    NotificationAttempt,
)

from .conftest import run_sweep

pytestmark = pytest.mark.django_db


class Gateway:
    """A bleep/SMS gateway on loopback answering with the given HTTP statuses in turn."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append((dict(self.headers), json.loads(body)))
                status = (
                    gateway.statuses.pop(0) if len(gateway.statuses) > 1 else gateway.statuses[0]
                )
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bleep"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    gateways = []

    def make(*statuses, channels=("webhook",)):
        g = Gateway(statuses)
        gateways.append(g)
        settings.ESCALATION_WEBHOOK_URL = g.url
        settings.ESCALATION_CHANNELS = list(channels)
        return g

    yield make
    for g in gateways:
        g.close()


@pytest.fixture
def cover_only(db):
    set_policy("critical", escalation_chain=[EscalationStep.DEADLINE_COVER])


def test_the_webhook_is_retried_with_backoff_and_every_attempt_is_recorded(
    clock, flag, chain_people, gateway, cover_only
):
    g = gateway(500, 200)
    finding = flag("critical")
    clock.shift(timedelta(hours=1, seconds=1))
    run_sweep()
    escalation = Escalation.objects.get(finding=finding)
    assert escalation.status == EscalationStatus.PENDING
    assert escalation.failed_attempts == 1
    assert escalation.last_error == "webhook: HTTP 500"
    run_sweep()  # before the backoff has passed: not tried again
    assert len(g.requests) == 1
    clock.shift(timedelta(seconds=2))
    run_sweep()
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.SENT
    attempts = list(escalation.notification_attempts.values_list("succeeded", "detail"))
    assert attempts == [(False, "webhook: HTTP 500"), (True, "webhook HTTP 200")]
    keys = {headers["Idempotency-Key"] for headers, _ in g.requests}
    assert keys == {f"escalation-{escalation.pk}"}  # the gateway can drop a repeat
    payload = g.requests[-1][1]
    assert payload["bleep"] == chain_people["cover"].bleep
    assert finding.exam.patient.family_name not in json.dumps(payload)  # no patient data


def test_an_escalation_that_never_gets_through_is_marked_failed(
    clock, flag, chain_people, gateway, cover_only, settings
):
    settings.ESCALATION_MAX_ATTEMPTS = 3
    gateway(503)
    finding = flag("critical")
    clock.shift(timedelta(hours=1, seconds=1))
    for _ in range(6):
        run_sweep()
        clock.shift(timedelta(seconds=10))
    escalation = Escalation.objects.get(finding=finding)
    assert escalation.status == EscalationStatus.FAILED
    assert escalation.failed_attempts == 3
    assert NotificationAttempt.objects.filter(escalation=escalation).count() == 3
    assert escalation.history.first().history_change_reason.startswith("Failed after 3 attempts")


def test_when_only_the_webhook_fails_the_email_is_not_sent_again(
    clock, flag, chain_people, gateway, cover_only
):
    g = gateway(502, 200, channels=("email", "webhook"))
    finding = flag("critical")
    clock.shift(timedelta(hours=1, seconds=1))
    run_sweep()
    clock.shift(timedelta(seconds=5))
    run_sweep()
    escalation = Escalation.objects.get(finding=finding)
    assert escalation.status == EscalationStatus.SENT
    assert [m.to for m in mail.outbox] == [[chain_people["cover"].email]]
    assert len(g.requests) == 2
    assert sorted(escalation.notification_attempts.values_list("channel", "succeeded")) == [
        ("email", True),
        ("webhook", False),
        ("webhook", True),
    ]
