"""Local time with the zone, countdown wording, and the ACR documentation statement."""

from datetime import UTC, datetime, timedelta

import pytest

from tracker.models import Channel, Outcome
from tracker.templatetags.clinical import clinical_time, countdown_text
from tracker.timeline import documentation_statement


def test_it_shows_winter_times_in_gmt_with_the_zone():
    assert clinical_time(datetime(2026, 11, 23, 14, 32, tzinfo=UTC)) == "14:32 GMT 23/11/2026"


def test_it_shows_summer_times_in_bst_with_the_zone():
    assert clinical_time(datetime(2026, 7, 1, 13, 5, tzinfo=UTC)) == "14:05 BST 01/07/2026"


def test_it_shows_nothing_for_no_time():
    assert clinical_time(None) == ""


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (38 * 60 + 30, "38 min left"),
        (30, "less than 1 min left"),
        (-12 * 60 - 5, "overdue by 12 min"),
        (-20, "overdue by less than 1 min"),
        (2 * 3600 + 5 * 60, "2 h 5 min left"),
        (23 * 3600, "23 h left"),
        (-(3 * 86400 + 4 * 3600), "overdue by 3 d 4 h"),
    ],
)
def test_it_words_the_countdown_for_people(seconds, text):
    assert countdown_text(seconds) == text


@pytest.mark.django_db
def test_it_writes_the_acr_documentation_statement(clock, flag, radiologist, referrer, call):
    referrer.department.name = "General Surgery"
    referrer.department.save()
    clock.shift(timedelta(minutes=32))  # flagged 14:00 UTC; 14:32 GMT in November
    finding = flag("critical")
    attempt = call(finding, radiologist)
    finding.refresh_from_db()
    assert documentation_statement(finding, attempt) == (
        "Critical result communicated to Dr A Smith, FY2 General Surgery, by telephone at "
        "14:32 GMT on 23/11/2026 by Dr B Jones; read back confirmed."
    )


@pytest.mark.django_db
def test_it_offers_no_statement_before_a_read_back(clock, flag, radiologist, call):
    finding = flag("critical")
    call(finding, radiologist, outcome=Outcome.NO_ANSWER)
    finding.refresh_from_db()
    assert documentation_statement(finding) == ""


@pytest.mark.django_db
def test_it_names_a_contact_without_an_account_and_the_channel(clock, flag, radiologist, call):
    finding = flag("critical")
    attempt = call(
        finding,
        radiologist,
        channel=Channel.IN_PERSON,
        contacted_user=None,
        contact_name="Nurse K Lee",
        contact_role="Nurse in charge, Ward 5",
    )
    finding.refresh_from_db()
    assert documentation_statement(finding, attempt) == (
        "Critical result communicated to Nurse K Lee, Nurse in charge, Ward 5, in person at "
        "14:00 GMT on 23/11/2026 by Dr B Jones; read back confirmed."
    )


@pytest.mark.django_db
def test_the_statement_uses_the_sites_name_for_the_category(clock, flag, radiologist, call):
    from tracker.models import CommunicationPolicy

    policy = CommunicationPolicy.objects.get(category="critical")
    policy.label = "Urgent"
    policy.save()
    finding = flag("critical")
    attempt = call(finding, radiologist)
    finding.refresh_from_db()
    assert documentation_statement(finding, attempt).startswith("Urgent result communicated to")
