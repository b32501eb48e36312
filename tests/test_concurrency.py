"""Two requests with the same submission key at the same moment record once (real database,
real threads, each with its own connection)."""

import threading
import uuid

import pytest
from django.db import connection

from tracker.models import Channel, CommunicationAttempt, Outcome, Status
from tracker.services import findings as services

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(target, n=2):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


def test_a_simultaneous_double_submit_of_a_read_back_records_once(flag, radiologist, referrer):
    finding = flag("critical")
    key = uuid.uuid4()

    def submit():
        return services.attempt_log(
            actor=radiologist,
            finding=finding,
            channel=Channel.PHONE,
            outcome=Outcome.READ_BACK,
            contacted_user=referrer,
            submission_key=key,
        ).pk

    results, errors = run_together(submit)
    assert errors == []
    assert len(set(results)) == 1
    assert CommunicationAttempt.objects.filter(finding=finding).count() == 1
    finding.refresh_from_db()
    assert finding.status == Status.COMMUNICATED
    assert finding.history.filter(status=Status.COMMUNICATED).count() == 1


def test_a_simultaneous_double_flag_records_once(flag):
    key = uuid.uuid4()
    results, errors = run_together(lambda: flag("critical", submission_key=key).pk)
    assert errors == []
    assert len(set(results)) == 1
