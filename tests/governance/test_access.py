"""Only governance leads open governance pages; everyone else gets 403, anonymous a login."""

import pytest
from django.urls import reverse

from tests.factories import RadiologistFactory, UserFactory
from tracker.models import Role

pytestmark = pytest.mark.django_db

PAGES = [
    ("governance:dashboard", []),
    ("governance:report", []),
    ("governance:report_findings", []),
    ("governance:breaches", []),
]


@pytest.fixture
def outsiders(referrer, stranger):
    return {
        "referrer": referrer,
        "stranger": stranger,
        "radiologist": RadiologistFactory(username="rad-x"),
        "administrator": UserFactory(
            username="admin-x", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True
        ),
        "inactive governance": UserFactory(
            username="gov-inactive", role=Role.GOVERNANCE, is_active=False
        ),
    }


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_everyone_but_a_governance_lead_is_refused(client, outsiders, governance, name, args):
    url = reverse(name, args=args)
    for who, user in outsiders.items():
        if not user.is_active:
            continue
        client.force_login(user)
        assert client.get(url).status_code == 403, who
    client.force_login(governance)
    assert client.get(url).status_code == 200


def test_a_referrer_cannot_open_or_post_a_breach_review(client, known_findings, referrer):
    url = reverse("governance:breach_review", args=[known_findings["D"].pk])
    client.force_login(referrer)
    assert client.get(url).status_code == 403
    assert client.post(url, {"outcome": "no_harm"}).status_code == 403
    assert not hasattr(known_findings["D"], "breach_review")


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("governance:report"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_only_a_governance_lead_sees_the_nav_link(client, governance, referrer):
    client.force_login(referrer)
    page = client.get(reverse("home"), follow=True).content.decode()
    assert reverse("governance:dashboard") not in page
    client.force_login(governance)
    page = client.get(reverse("home"), follow=True).content.decode()
    assert f'href="{reverse("governance:dashboard")}"' in page
