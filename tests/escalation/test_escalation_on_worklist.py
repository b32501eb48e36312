"""The escalation state shows on the worklist, to those who may see the finding only."""

from datetime import timedelta

import pytest

from tracker.escalation.selectors import escalations_by_finding
from tracker.models import EscalationStep

from .conftest import run_sweep

pytestmark = pytest.mark.django_db


def test_the_worklist_shows_the_latest_escalation_of_a_finding(clock, flag, chain_people, client):
    finding = flag("critical")
    clock.shift(timedelta(hours=1, seconds=1))
    run_sweep()
    client.force_login(chain_people["referrer"])
    page = client.get("/", follow=True).content.decode()
    assert finding.exam.accession_number in page
    assert "Department lead (deadline) → Dr Lee Lead" in page
    assert "sent 15:00 GMT 23/11/2026" in page
    steps = [e.step for e in escalations_by_finding([finding.pk])[finding.pk]]
    assert steps == [
        EscalationStep.WARNING_REMINDER,
        EscalationStep.DEADLINE_COVER,
        EscalationStep.DEADLINE_DEPARTMENT_LEAD,
    ]


def test_a_stranger_sees_no_finding_and_no_escalation(clock, flag, chain_people, client):
    finding = flag("critical")
    clock.shift(timedelta(hours=1, seconds=1))
    run_sweep()
    client.force_login(chain_people["stranger"])
    page = client.get("/", follow=True).content.decode()
    assert finding.exam.accession_number not in page
    assert "Department lead" not in page
    assert "Escalation sent" not in page
    assert "No open findings." in page
