from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from tracker.audit import triggers
from tracker.hl7 import mapping as hl7_mapping
from tracker.services import findings as services

from .factories import (
    ExamFactory,
    GovernanceFactory,
    RadiologistFactory,
    ReferrerFactory,
    UserFactory,
)

# A Monday afternoon in winter (GMT), well away from a DST change.
T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """Frozen server time, moved on explicitly with clock.shift(...)/clock.move_to(...)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def radiologist(db):
    return RadiologistFactory(username="radiologist", first_name="Bea", last_name="Jones")


@pytest.fixture
def referrer(db):
    return ReferrerFactory(username="referrer", first_name="Alex", last_name="Smith")


@pytest.fixture
def stranger(db):
    """A referrer with no link to any finding in the test."""
    return ReferrerFactory(username="stranger", first_name="Sam", last_name="Stranger")


@pytest.fixture
def governance(db):
    return GovernanceFactory(username="governance")


@pytest.fixture
def exam(referrer):
    return ExamFactory(ordering_clinician=referrer)


@pytest.fixture
def flag(radiologist, exam):
    """Flag a finding on `exam` now (call inside the `clock` fixture for frozen time)."""

    def _flag(category="critical", **kwargs):
        # Tests flag several findings on one exam; the confirmation is tested on its own.
        kwargs.setdefault("confirm_second_open", True)
        return services.finding_flag(
            actor=kwargs.pop("actor", radiologist),
            accession_number=kwargs.pop("accession_number", exam.accession_number),
            category=category,
            description=kwargs.pop("description", "Large right pneumothorax."),
            **kwargs,
        )

    return _flag


@pytest.fixture(autouse=True)
def _no_clinicians_remembered_from_another_test():
    # A test's database is rolled back, which sends no signal: what HL7 ingest remembers of the
    # clinicians an earlier test's messages named must not reach this one.
    hl7_mapping.forget_recent_clinicians()


@pytest.fixture(autouse=True)
def _audit_tables_append_only_except_when_emptied(request, django_db_blocker):
    """The audit tables refuse UPDATE/DELETE/TRUNCATE (tracker/audit/triggers.py). pytest-django
    empties the database after each transactional test, so that flush alone runs in maintenance
    mode; every test body runs with the triggers enforcing."""
    from django.db import connection

    def set_maintenance(on):
        with django_db_blocker.unblock():
            triggers.maintenance(on)

    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    set_maintenance(False)
    yield
    if transactional or (connection.connection is not None and not connection.in_atomic_block):
        # pytest-django's flush comes next (it opens the connection again if a test closed it).
        set_maintenance(True)


@pytest.fixture
def as_user(client):
    """as_user(user) signs the test client in (force_login: django-axes breaks client.login)."""

    def _as(user):
        client.force_login(user)
        return client

    return _as


@pytest.fixture
def api():
    """api(user) -> an APIClient authenticated as `user` (None: anonymous)."""

    def _client(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return _client


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
