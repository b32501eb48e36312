"""Worklists by clinical priority: overdue critical first, then critical by time left, then the
rest (overdue first, then by time left); no row says "overdue" and "time left" at once."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from ..factories import ExamFactory

pytestmark = pytest.mark.django_db


def shown(user, url_name):
    client = Client()  # a session of its own: the test's clock runs past the inactivity logoff
    client.force_login(user)
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    return response


@pytest.fixture
def mixed(clock, flag, referrer):
    """At 14:00 + 26 h: a significant finding 2 h overdue, a critical 30 min overdue, a
    critical with 45 min left, a significant with 21 h left and a routine one (no deadline)."""

    def flag_on_own_exam(category):
        return flag(
            category, accession_number=ExamFactory(ordering_clinician=referrer).accession_number
        )

    significant_overdue = flag_on_own_exam("significant")
    clock.shift(timedelta(hours=23))
    significant_in_time = flag_on_own_exam("significant")
    clock.shift(timedelta(hours=1, minutes=30))
    critical_overdue = flag_on_own_exam("critical")
    clock.shift(timedelta(minutes=75))
    critical_in_time = flag_on_own_exam("critical")
    routine = flag_on_own_exam("routine")
    clock.shift(timedelta(minutes=15))
    return [critical_overdue, critical_in_time, significant_overdue, significant_in_time, routine]


@pytest.mark.parametrize("url_name", ["worklist", "open_findings"])
def test_overdue_critical_comes_first_then_critical_by_time_left_then_the_rest(
    mixed, radiologist, governance, url_name
):
    user = radiologist if url_name == "worklist" else governance
    response = shown(user, url_name)
    assert [row.finding for row in response.context["rows"]] == mixed


def test_the_referrers_inbox_puts_critical_first_too(mixed, referrer):
    response = shown(referrer, "inbox")
    assert [row.finding for row in response.context["rows"]] == mixed


def row_texts(html):
    return [m.group(0) for m in re.finditer(r"<tr class=\"row-.*?</tr>", html, re.S)]


def test_no_row_says_overdue_and_time_left_at_once(mixed, radiologist):
    html = shown(radiologist, "worklist").content.decode()
    rows = row_texts(html)
    assert len(rows) == 5
    for row in rows:
        text = re.sub(r"<[^>]+>", " ", row)
        overdue = "overdue" in text.lower()
        assert not (overdue and re.search(r"\bleft\b", text)), text
        assert ('class="row-overdue' in row) == ("overdue by" in text), text
    # The badge turns to "overdue" in the browser when the countdown passes zero (tracker.js).
    assert 'data-overdue-label="Contact overdue"' in html


def test_the_countdown_and_its_label_come_from_the_same_moment(clock, flag, radiologist):
    finding = flag("critical")
    clock.shift(timedelta(minutes=60))  # exactly at the deadline: not yet overdue
    response = shown(radiologist, "worklist")
    row = response.context["rows"][0]
    assert row.finding == finding and row.deadline["state"] != "overdue"
    html = response.content.decode()
    assert "less than 1 min left" in html and "row-overdue" not in html
    clock.shift(timedelta(seconds=1))
    (row,) = row_texts(shown(radiologist, "worklist").content.decode())
    assert "overdue by less than 1 min" in row and "row-overdue" in row and " left" not in row


def test_the_governance_board_lists_overdue_critical_first(mixed, governance):
    response = shown(governance, "governance:dashboard")
    overdue = next(s for s in response.context["sections"] if s.key == "overdue")
    assert overdue.rows == [mixed[0], mixed[2]]  # critical 30 min late before significant 2 h


def test_the_worklist_is_stacked_at_phone_width(clock, flag, radiologist):
    flag("critical")
    html = shown(radiologist, "worklist").content.decode()
    assert "worklist-stacked" in html  # tracker.css: one card per row below 576 px
    assert 'data-label="Deadline"' in html and 'data-label="Responsible"' in html
