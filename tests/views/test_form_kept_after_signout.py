"""A form sent after the inactivity sign-out keeps what was typed: kept (after the CSRF check)
in the signed-out session, put back after signing in as the same person, never sent by itself.
A failed CSRF check gets a plain page that says what to do, never a 500 or Django's own page."""

import html as html_lib
import json
import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from tracker.models import CommunicationAttempt
from tracker.security import formstash

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def token(client, url):
    assert client.get(url).status_code == 200
    return client.cookies["csrftoken"].value


def kept_fields(response):
    match = re.search(
        r'id="restored-form" data-path="([^"]*)" data-fields="([^"]*)"', response.content.decode()
    )
    if match is None:
        return None
    return match.group(1), json.loads(html_lib.unescape(match.group(2)))


def call_form(finding, referrer, csrf):
    return {
        "csrfmiddlewaretoken": csrf,
        "submission_key": str(uuid.uuid4()),
        "contacted_user": str(referrer.pk),
        "channel": "phone",
        "outcome": "read_back",
        "notes": "Read back by Dr Smith; patient to resus.",
    }


def test_a_call_logged_after_the_sign_out_is_kept_and_put_back_after_signing_in(
    clock, flag, radiologist, referrer
):
    finding = flag("critical")
    url = reverse("log_call", args=[finding.pk])
    client = signed_in(radiologist)
    data = call_form(finding, referrer, token(client, url))
    clock.shift(timedelta(minutes=16))  # the inactivity sign-out
    response = client.post(url, data)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert not CommunicationAttempt.objects.exists()  # nothing was recorded
    kept = client.session[formstash.SESSION_KEY]
    assert kept["path"] == url and kept["user"] == radiologist.pk
    # If nobody signs in again, the session holding it ends within the hour.
    assert client.session.get_expiry_age() == formstash.MAX_AGE_SECONDS
    assert "csrfmiddlewaretoken" not in kept["fields"]
    login_page = client.get(response.url).content.decode()
    assert "what you typed is kept" in login_page

    client.force_login(radiologist)  # signs in again in the same browser
    page = client.get(url)
    assert page.status_code == 200
    path, fields = kept_fields(page)
    assert path == url
    assert fields["notes"] == ["Read back by Dr Smith; patient to resus."]
    assert fields["submission_key"] == [data["submission_key"]]  # a resend records once
    assert "has been put back" in page.content.decode()
    assert not CommunicationAttempt.objects.exists()  # put back, not sent
    assert formstash.SESSION_KEY not in client.session
    assert client.session.get_expire_at_browser_close()  # the site's rule again
    assert kept_fields(client.get(url)) is None  # only once


def test_someone_else_signing_in_on_that_computer_gets_nothing_back(
    clock, flag, radiologist, referrer
):
    finding = flag("critical")
    url = reverse("log_call", args=[finding.pk])
    client = signed_in(radiologist)
    data = call_form(finding, referrer, token(client, url))
    clock.shift(timedelta(minutes=16))
    client.post(url, data)
    from ..factories import RadiologistFactory

    colleague = RadiologistFactory(username="colleague")
    client.force_login(colleague)
    page = client.get(url)
    assert kept_fields(page) is None
    assert "Read back by Dr Smith" not in page.content.decode()
    assert formstash.SESSION_KEY not in client.session


def test_a_form_that_fails_the_csrf_check_after_the_sign_out_is_not_kept(
    clock, flag, radiologist, referrer
):
    finding = flag("critical")
    url = reverse("log_call", args=[finding.pk])
    client = signed_in(radiologist)
    data = call_form(finding, referrer, "forged-or-stale-token-" + "x" * 10)
    token(client, url)
    clock.shift(timedelta(minutes=16))
    response = client.post(url, data)
    assert response.status_code == 403
    assert formstash.SESSION_KEY not in client.session


def test_a_password_is_never_kept(clock, radiologist):
    url = reverse("password_change")
    client = signed_in(radiologist)
    csrf = token(client, url)
    clock.shift(timedelta(minutes=16))
    client.post(
        url,
        {
            "csrfmiddlewaretoken": csrf,
            "old_password": "correct-horse-battery",
            "new_password1": "n3w-secret-phrase",
            "new_password2": "n3w-secret-phrase",
        },
    )
    kept = client.session[formstash.SESSION_KEY]
    assert kept["fields"] == {}


def test_a_stale_form_gets_a_plain_page_saying_what_to_do(clock, flag, radiologist, referrer):
    finding = flag("critical")
    url = reverse("log_call", args=[finding.pk])
    client = signed_in(radiologist)
    response = client.post(
        url, call_form(finding, referrer, "stale"), HTTP_REFERER=f"http://testserver{url}"
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "The form was not sent" in page and "Nothing was saved" in page
    assert "Go back to the form" in page and f'href="http://testserver{url}"' in page
    assert "send the form again" in page
    for technical in ("CSRF", "csrf", "token", "Forbidden", "Referer"):
        assert technical not in re.sub(r'name="csrfmiddlewaretoken"[^>]*>', "", page), technical
    assert not CommunicationAttempt.objects.exists()


def test_a_csrf_failure_with_a_foreign_referer_never_links_away(client):
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(reverse("login"), {}, HTTP_REFERER="https://evil.example/x")
    assert response.status_code == 403
    assert "evil.example" not in response.content.decode()


@pytest.mark.parametrize("body", [b"\x00\xff\xfe", b"a=%00%ff", b"x" * 300_000])
def test_odd_bodies_after_the_sign_out_never_give_a_500(clock, radiologist, body):
    url = reverse("flag")
    client = signed_in(radiologist)
    token(client, url)
    clock.shift(timedelta(minutes=16))
    response = client.generic("POST", url, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (302, 400, 403)


def test_a_form_kept_longer_than_an_hour_is_not_put_back(clock, flag, radiologist, referrer):
    finding = flag("critical")
    url = reverse("log_call", args=[finding.pk])
    client = signed_in(radiologist)
    data = call_form(finding, referrer, token(client, url))
    clock.shift(timedelta(minutes=16))
    client.post(url, data)
    clock.shift(timedelta(minutes=61))
    client.force_login(radiologist)
    assert kept_fields(client.get(url)) is None
