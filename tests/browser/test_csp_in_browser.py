"""The strict CSP breaks nothing a user does: sign in, the worklist, the admin."""

import pytest

from tests.factories import DepartmentFactory, UserFactory
from tracker.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def csp_violations(page):
    seen = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


def test_signing_in_and_the_worklist_raise_no_csp_violation(
    page, login, radiologist, csp_violations
):
    login("radiologist")
    assert page.get_by_role("heading", name="My open communications").is_visible()
    assert csp_violations == []


def test_the_admin_works_under_the_csp(page, login, csp_violations):
    UserFactory(username="siteadmin", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    login("siteadmin")
    DepartmentFactory(code="surgery", name="General Surgery")
    page.goto("/admin/tracker/department/")
    page.get_by_role("link", name="General Surgery").click()
    page.wait_for_url("**/change/")
    # The admin's own scripts (loaded from 'self': autocomplete, related-object links) run.
    page.get_by_label("Name").fill("General and Colorectal Surgery")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/department/")
    assert "was changed successfully" in page.content()
    page.goto("/admin/tracker/user/add/")
    assert page.get_by_label("Username").is_visible()
    assert csp_violations == []
