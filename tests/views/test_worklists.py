"""Home page per role, the worklists' order and countdowns, the live refresh, query counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tracker.models import (
    Escalation,
    EscalationStatus,
    EscalationStep,
    Finding,
    Role,
)

from ..factories import RadiologistFactory, ReferrerFactory, UserFactory
from .worklist_data import make_open_findings

pytestmark = pytest.mark.django_db


def rows(response):
    """The finding ids of a worklist, in the order shown."""
    return [row.finding for row in response.context["rows"]]


@pytest.mark.parametrize(
    ("role", "target"),
    [
        ("radiologist", "worklist"),
        ("referrer", "inbox"),
        ("governance", "governance:dashboard"),
    ],
)
def test_it_sends_each_role_home_to_their_own_list(as_user, request, role, target):
    user = request.getfixturevalue(role)
    response = as_user(user).get("/")
    assert response.status_code == 302
    assert response.url == reverse(target)


def test_it_offers_the_administrator_a_link_to_the_admin(as_user):
    admin = UserFactory(username="admin", role=Role.ADMINISTRATOR, is_staff=True, department=None)
    response = as_user(admin).get("/")
    assert response.status_code == 200
    assert reverse("admin:index") in response.content.decode()


def test_it_sends_a_signed_out_visitor_to_the_sign_in_page(client):
    response = client.get(reverse("worklist"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_reloads_a_signed_out_background_refresh_instead_of_swapping_in_the_login_page(client):
    response = client.get(
        reverse("worklist"), headers={"HX-Request": "true", "X-Background-Refresh": "1"}
    )
    assert response.status_code == 200
    assert response.headers["HX-Refresh"] == "true"


def test_it_lists_overdue_first_then_by_deadline_with_countdowns(clock, as_user, flag, radiologist):
    significant = flag("significant")  # due in 24 h
    clock.shift(timedelta(minutes=10))
    early = flag("critical")  # due 15:00 UTC
    clock.shift(timedelta(minutes=20))
    late = flag("critical")  # due 15:30 UTC
    clock.shift(timedelta(minutes=52))  # 15:22: `early` overdue by 12 min, `late` has 8 min
    response = as_user(radiologist).get(reverse("worklist"))
    assert rows(response) == [early, late, significant]
    html = response.content.decode()
    assert "overdue by 12 min" in html
    assert "8 min left" in html
    assert "Contact overdue" in html  # the colour always comes with words
    assert "Contact due soon" in html


def test_it_refreshes_in_the_background_at_least_every_30_seconds(as_user, radiologist):
    html = as_user(radiologist).get(reverse("worklist")).content.decode()
    assert 'hx-trigger="every 30s"' in html
    assert """hx-headers='{"X-Background-Refresh": "1"}'""" in html


def test_the_refresh_returns_only_the_table(clock, as_user, flag, radiologist):
    flag("critical")
    response = as_user(radiologist).get(
        reverse("worklist"), headers={"HX-Request": "true", "X-Background-Refresh": "1"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="worklist"')
    assert "<nav" not in html
    assert "1 h left" in html


def test_it_shows_only_my_findings_unless_i_ask_for_the_department(
    clock, as_user, flag, radiologist
):
    mine = flag("critical")
    colleague = RadiologistFactory(username="colleague")
    theirs = flag("critical", actor=colleague)
    client = as_user(radiologist)
    assert rows(client.get(reverse("worklist"))) == [mine]
    assert set(rows(client.get(reverse("worklist") + "?scope=department"))) == {mine, theirs}


def test_the_inbox_puts_unacknowledged_findings_first(
    clock, as_user, flag, radiologist, referrer, call
):
    waiting_for_call = flag("critical")
    clock.shift(timedelta(minutes=5))
    to_acknowledge = flag("critical")
    call(to_acknowledge, radiologist)
    response = as_user(referrer).get(reverse("inbox"))
    assert rows(response) == [to_acknowledge, waiting_for_call]
    assert "Awaiting acknowledgement" in response.content.decode()
    assert reverse("acknowledge", args=[to_acknowledge.pk]) in response.content.decode()


def test_a_stranger_has_an_empty_inbox(clock, as_user, flag, stranger):
    flag("critical")
    response = as_user(stranger).get(reverse("inbox"))
    assert rows(response) == []
    assert "No open findings." in response.content.decode()


def test_governance_sees_every_open_finding_without_actions(
    clock, as_user, flag, governance, radiologist
):
    other = RadiologistFactory(username="elsewhere", department__code="other-rad")
    ours, theirs = flag("critical"), flag("critical", actor=other)
    response = as_user(governance).get(reverse("open_findings"))
    assert set(rows(response)) == {ours, theirs}
    html = response.content.decode()
    assert "Log call" not in html and "Acknowledge<" not in html


def test_each_list_refuses_the_wrong_role(as_user, radiologist, referrer):
    assert as_user(referrer).get(reverse("worklist")).status_code == 403
    assert as_user(radiologist).get(reverse("inbox")).status_code == 403


def test_it_shows_the_latest_escalation_of_each_row(clock, as_user, flag, radiologist, referrer):
    finding = flag("critical")
    Escalation.objects.create(
        finding=finding,
        step=EscalationStep.WARNING_REMINDER,
        recipient=radiologist,
        due_at=finding.warning_at,
        status=EscalationStatus.SENT,
        sent_at=finding.warning_at,
    )
    Escalation.objects.create(
        finding=finding,
        step=EscalationStep.DEADLINE_COVER,
        recipient=referrer,
        due_at=finding.contact_due_at,
    )
    response = as_user(radiologist).get(reverse("worklist"))
    latest = response.context["rows"][0].escalation
    assert latest.step == EscalationStep.DEADLINE_COVER
    html = response.content.decode()
    assert "Escalation pending" in html
    assert "Covering colleague of the responsible clinician (deadline) → Dr Alex Smith" in html
    assert "due 15:00 GMT 23/11/2026" in html


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), len(response.context["rows"])


@pytest.mark.parametrize("url_name", ["worklist", "open_findings"])
def test_a_worklist_of_200_renders_with_the_same_queries_as_one_of_20(
    clock, as_user, radiologist, django_assert_max_num_queries, url_name
):
    client = as_user(radiologist)
    url = reverse(url_name)
    referrers = [ReferrerFactory(username=f"ref{i}") for i in range(3)]
    make_open_findings(radiologist, referrers, 0, 20)
    small, shown = count_queries(client, url)
    assert shown == 20
    make_open_findings(radiologist, referrers, 20, 200)
    with django_assert_max_num_queries(small):
        response = client.get(url)
    assert len(response.context["rows"]) == 200
    assert Finding.objects.open().count() == 200
    assert small <= 8, small
    print(f"{url_name}: {small} queries for 20 rows and for 200")


def test_the_inbox_of_200_renders_with_the_same_queries_as_one_of_20(
    clock, as_user, radiologist, referrer, flag, call, django_assert_max_num_queries
):
    client = as_user(referrer)
    for _ in range(20):
        flag("critical")
    small, shown = count_queries(client, reverse("inbox"))
    assert shown == 20
    for i in range(180):
        finding = flag("critical")
        if i % 3 == 0:
            call(finding, radiologist)
    with django_assert_max_num_queries(small):
        response = client.get(reverse("inbox"))
    assert len(response.context["rows"]) == 200


def test_a_declined_finding_stands_out_on_the_radiologists_worklist(
    clock, as_user, flag, radiologist, referrer
):
    from tracker.services import findings as services

    finding = flag("critical")
    services.finding_decline(actor=referrer, finding=finding, reason="Not my patient")
    html = as_user(radiologist).get(reverse("worklist")).content.decode()
    # Declined: unrouted again, with the radiologist to route (issue 13).
    assert "Unrouted: choose the referrer" in html
