"""Login throttling and lock-out, automatic logoff after inactivity, the security log."""

import json
import logging
from datetime import timedelta

import pytest
from django.test import Client

from tracker.security.middleware import BACKGROUND_HEADER

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
INBOX = "/inbox/"  # the referrer's own page
PASSWORD = "correct-horse-battery"  # tests/factories.py


def security_events(caplog):
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "tracker.security"]


def attempt(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


def test_an_account_is_locked_out_after_five_failed_logins(clock, referrer, settings, caplog):
    assert settings.AXES_FAILURE_LIMIT == 5
    client = Client()
    for _ in range(4):
        assert attempt(client, "referrer", "wrong-guess-123").status_code == 200  # form again
    assert attempt(client, "referrer", PASSWORD).status_code == 302  # 4 failures: still allowed
    client.post("/accounts/logout/")
    for _ in range(5):
        attempt(client, "referrer", "wrong-guess-123")
    response = attempt(client, "referrer", PASSWORD)  # the right password no longer helps
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    events = [e["event"] for e in security_events(caplog)]
    assert "locked_out" in events


def test_a_lock_out_ends_after_the_cool_off(clock, referrer):
    client = Client()
    for _ in range(5):
        attempt(client, "referrer", "wrong-guess-123")
    assert attempt(client, "referrer", PASSWORD).status_code == 429
    clock.shift(timedelta(minutes=31))
    assert attempt(client, "referrer", PASSWORD).status_code == 302


def test_force_login_in_tests_is_unaffected_by_the_lock_out_backend(referrer):
    client = Client()
    client.force_login(referrer)
    assert client.get(INBOX).status_code == 200


def test_logins_failures_and_lock_outs_are_logged_without_passwords(clock, referrer, caplog):
    client = Client()
    assert attempt(client, "referrer", PASSWORD).status_code == 302
    for _ in range(5):
        attempt(client, "referrer", "wrong-guess-123")
    events = security_events(caplog)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "login" and kinds.count("login_failed") == 5 and "locked_out" in kinds
    login = events[0]
    assert login["user_id"] == referrer.pk and login["path"] == LOGIN and login["ip"]
    text = caplog.text
    assert "wrong-guess-123" not in text and PASSWORD not in text


def test_it_logs_off_after_15_minutes_without_activity(clock, referrer, settings):
    assert settings.INACTIVITY_TIMEOUT_MINUTES == 15
    client = Client()
    client.force_login(referrer)
    assert client.get(INBOX).status_code == 200
    clock.shift(timedelta(minutes=14))
    assert client.get(INBOX).status_code == 200  # activity: the 15 minutes start again
    clock.shift(timedelta(minutes=14))
    assert client.get(INBOX).status_code == 200
    clock.shift(timedelta(minutes=16))
    response = client.get(INBOX)
    assert response.status_code == 302 and response.url.startswith(LOGIN)
    assert "_auth_user_id" not in client.session


def test_background_polling_does_not_keep_a_session_alive(clock, referrer, caplog):
    client = Client()
    client.force_login(referrer)
    assert client.get(INBOX).status_code == 200
    for _ in range(7):  # a worklist left open polls every 2 minutes
        clock.shift(timedelta(minutes=2))
        assert client.get(INBOX, headers={BACKGROUND_HEADER: "1"}).status_code == 200
    clock.shift(timedelta(minutes=2))  # 16 minutes since the last real request
    response = client.get(INBOX, headers={BACKGROUND_HEADER: "1", "HX-Request": "true"})
    assert response.status_code == 401
    assert response["HX-Redirect"].startswith(LOGIN)
    assert "logoff_inactivity" in [e["event"] for e in security_events(caplog)]


def test_a_timed_out_htmx_click_sends_the_whole_page_to_the_login(clock, referrer):
    client = Client()
    client.force_login(referrer)
    client.get(INBOX)
    clock.shift(timedelta(minutes=16))
    response = client.post(INBOX, headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response["HX-Redirect"].startswith(LOGIN)


def test_the_inactivity_timeout_is_configurable(clock, referrer, settings):
    settings.INACTIVITY_TIMEOUT_MINUTES = 5
    client = Client()
    client.force_login(referrer)
    client.get(INBOX)
    clock.shift(timedelta(minutes=6))
    assert client.get(INBOX).status_code == 302


def test_permission_denials_are_logged_without_the_query_string(
    clock, referrer, caplog, administrator
):
    client = Client()
    client.force_login(administrator)
    assert client.get("/admin/tracker/finding/add/?q=ASHWORTH").status_code == 403
    denial = [e for e in security_events(caplog) if e["event"] == "permission_denied"]
    assert denial and denial[0]["path"] == "/admin/tracker/finding/add/"
    assert "ASHWORTH" not in caplog.text


def test_security_log_records_are_warnings_for_failures(clock, referrer, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    attempt(Client(), "referrer", "wrong-guess-123")
    record = next(r for r in caplog.records if r.name == "tracker.security")
    assert record.levelno == logging.WARNING


def test_a_lock_out_from_one_computer_does_not_lock_the_clinician_out_elsewhere(clock, referrer):
    attacker = Client(REMOTE_ADDR="10.1.1.66")
    for _ in range(5):
        attempt(attacker, "referrer", "wrong-guess-123")
    assert attempt(attacker, "referrer", PASSWORD).status_code == 429
    ward = Client(REMOTE_ADDR="10.2.2.20")
    assert attempt(ward, "referrer", PASSWORD).status_code == 302


def test_the_test_clients_login_still_works_with_the_lock_out_backend(referrer):
    client = Client()
    assert not client.login(username="referrer", password="wrong-guess-123")
    assert client.login(username="referrer", password=PASSWORD)
    assert client.get(INBOX).status_code == 200
