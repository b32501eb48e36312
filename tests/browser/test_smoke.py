import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_radiologist_signs_in_and_sees_open_findings(page, login, radiologist):
    login("radiologist")
    assert page.get_by_role("heading", name="My open communications").is_visible()
    assert "Dr Bea Jones" in page.content()
