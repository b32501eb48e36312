"""Shared set-up for the escalation tests: a full chain of people to tell."""

import pytest

from tracker.escalation import delivery, engine

from ..factories import ReferrerFactory, UserFactory


@pytest.fixture
def chain_people(referrer, radiologist, governance, stranger):
    """The responsible clinician's cover and department lead, the governance lead."""
    cover = ReferrerFactory(username="cover", first_name="Cam", last_name="Cover")
    lead = UserFactory(username="lead", first_name="Lee", last_name="Lead", role="referrer")
    referrer.covering_colleague = cover
    referrer.save()
    department = referrer.department
    department.lead = lead
    department.save()
    return {
        "radiologist": radiologist,
        "referrer": referrer,
        "cover": cover,
        "lead": lead,
        "governance": governance,
        "stranger": stranger,
    }


def run_sweep(now=None):
    """One sweep with its deliveries done at once (what beat + a worker do)."""
    sent = []

    def dispatch(ids):
        sent.extend(ids)
        delivery.deliver_many(ids)

    engine.sweep(dispatch=dispatch, now=now)
    return sent
