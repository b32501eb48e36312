"""The stored times to contact and to acknowledgement (Finding.seconds_to_contact,
Finding.seconds_to_acknowledgement) follow the timestamps through every service, because the
database computes them on every write."""

from datetime import timedelta

import pytest
from django.db import connection

from tracker.models import Channel, Finding, Outcome, PlannedAction
from tracker.services import findings as services

pytestmark = pytest.mark.django_db

CONTACT = timedelta(minutes=12, seconds=34, microseconds=567891)
ACKNOWLEDGEMENT = timedelta(hours=2, seconds=1, microseconds=5)


def seconds(delta):
    # PostgreSQL computes the exact double; SQLite's julianday arithmetic is good to well under
    # a millisecond, the precision the report shows.
    if connection.vendor == "postgresql":
        return delta.total_seconds()
    return pytest.approx(delta.total_seconds(), abs=1e-3)


def read_back(finding, radiologist):
    services.attempt_log(
        actor=radiologist,
        finding=finding,
        channel=Channel.PHONE,
        outcome=Outcome.READ_BACK,
        contacted_user=finding.responsible_clinician,
    )


def stored(finding):
    return Finding.objects.values_list("seconds_to_contact", "seconds_to_acknowledgement").get(
        pk=finding.pk
    )


def test_it_stores_no_time_before_contact(clock, flag):
    assert stored(flag("critical")) == (None, None)


def test_it_stores_the_time_to_contact_at_read_back_and_to_acknowledgement_at_acknowledgement(
    clock, flag, radiologist, referrer
):
    finding = flag("critical")
    clock.shift(CONTACT)
    read_back(finding, radiologist)
    assert stored(finding) == (seconds(CONTACT), None)
    clock.shift(ACKNOWLEDGEMENT)
    services.finding_acknowledge(
        actor=referrer, finding=finding, planned_action=PlannedAction.ADMITTED
    )
    assert stored(finding) == (seconds(CONTACT), seconds(ACKNOWLEDGEMENT))


def test_it_clears_the_time_to_contact_when_the_clinician_declines(
    clock, flag, radiologist, referrer
):
    finding = flag("critical")
    clock.shift(CONTACT)
    read_back(finding, radiologist)
    services.finding_decline(actor=referrer, finding=finding, reason="Not my patient")
    assert stored(finding) == (None, None)


def test_the_history_records_the_timestamps_not_the_derived_times(clock, flag, radiologist):
    finding = flag("critical")
    clock.shift(CONTACT)
    read_back(finding, radiologist)
    columns = {f.attname for f in Finding.history.model._meta.concrete_fields}
    assert {"flagged_at", "communicated_at", "acknowledged_at"} <= columns
    assert not columns & {"seconds_to_contact", "seconds_to_acknowledgement"}
    latest = Finding.history.filter(id=finding.pk).latest()
    assert latest.communicated_at - latest.flagged_at == CONTACT
