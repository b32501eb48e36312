"""Safe corrections and no lost input, in a real Chromium: fast typing into the patient
identifier right after the accession lookup keeps every character; a call logged after the
inactivity sign-out comes back filled in after signing in; a mis-flagged finding is cancelled
from its page; the worklist works at phone width (390 px). Screenshots 30-39."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import expect

from tracker import clock
from tracker.models import CommunicationAttempt, Finding, Patient, Status
from tracker.security.middleware import SESSION_KEY as LAST_ACTIVITY
from tracker.services import findings as services

from ..factories import ExamFactory, PatientFactory
from .conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
PATIENTS = [
    ("Okafor", "Grace"),
    ("Walsh", "Niamh"),
    ("Patel", "Ravi"),
    ("Jones", "Eleri"),
    ("Nowak", "Piotr"),
    ("Begum", "Ayesha"),
]


@pytest.fixture
def screenshot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def _shot(name):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")

    return _shot


@pytest.fixture
def afternoon():
    with time_machine.travel(datetime(2026, 11, 23, 14, 0, tzinfo=UTC), tick=True):
        yield


def flag_on(radiologist, referrer, accession, category="critical", minutes_ago=0, text=None):
    # Fixed patients, so the screenshots change only when the screens do.
    number = int(accession.rsplit("-", 1)[1])
    family, given = PATIENTS[number % len(PATIENTS)]
    patient = PatientFactory(identifier=f"MRN{number:07d}", family_name=family, given_name=given)
    exam = ExamFactory(accession_number=accession, ordering_clinician=referrer, patient=patient)
    with clock.replay_at(clock.now() - timedelta(minutes=minutes_ago)):
        return services.finding_flag(
            actor=radiologist,
            accession_number=exam.accession_number,
            category=category,
            description=text or f"Finding on {accession}.",
        )


def open_flag_form(page):
    page.goto("/findings/new/")
    page.wait_for_load_state("domcontentloaded")


def test_fast_typing_into_the_patient_identifier_after_the_lookup_keeps_every_character(
    page, login, screenshot, afternoon, radiologist, referrer
):
    login("radiologist")
    open_flag_form(page)
    accession = page.get_by_label("Accession number")
    with page.expect_response(re.compile(r"/findings/new/exam/")):
        accession.type("NEW-7001", delay=0)
    new_exam = page.locator("#new-exam")
    expect(new_exam).to_be_visible()
    page.get_by_label("Hospital number (MRN)").check()
    identifier = page.get_by_label("Patient identifier", exact=True)
    # Moving to the identifier fires the accession's "change": another lookup, whose answer
    # arrives while the identifier is being typed into. Nothing typed may be lost.
    with page.expect_response(re.compile(r"/findings/new/exam/")):
        accession.focus()
        identifier.focus()  # blurs the accession: change -> lookup
        page.keyboard.type("MRN00", delay=0)
    page.keyboard.type("12345", delay=0)  # after that answer has been swapped in
    expect(identifier).to_have_value("MRN0012345")
    expect(identifier).to_be_focused()
    # A lookup whose answer is "known exam" never hides fields that hold what was typed.
    page.evaluate("htmx.trigger('#id_accession_number', 'change')")
    expect(identifier).to_have_value("MRN0012345")
    page.get_by_label("Patient family name").type("Okafor", delay=0)
    page.get_by_label("Modality").select_option("CT")
    page.get_by_label("Ordering clinician").select_option(str(referrer.pk))
    page.get_by_label("Finding").fill("Large right pneumothorax.")
    screenshot("30-flag-new-exam")
    page.get_by_role("button", name="Flag finding").click()
    page.get_by_role("heading", name="Timeline").wait_for()
    assert Patient.objects.get(family_name="Okafor").identifier == "MRN0012345"


def test_a_mistyped_nhs_number_is_refused_and_nothing_typed_is_lost(
    page, login, afternoon, radiologist, referrer
):
    login("radiologist")
    open_flag_form(page)
    with page.expect_response(re.compile(r"/findings/new/exam/")):
        page.get_by_label("Accession number").type("NEW-7002", delay=0)
    page.get_by_label("NHS number").check()
    page.get_by_label("Patient identifier", exact=True).type("943 476 5918", delay=0)
    page.get_by_label("Patient family name").fill("Okafor")
    page.get_by_label("Modality").select_option("CT")
    page.get_by_label("Finding").fill("Large right pneumothorax.")
    page.get_by_role("button", name="Flag finding").click()
    page.get_by_text("its check digit does not match").wait_for()
    expect(page.get_by_label("Patient identifier", exact=True)).to_have_value("943 476 5918")
    expect(page.get_by_label("Patient family name")).to_have_value("Okafor")
    expect(page.locator("#new-exam")).to_be_visible()
    assert not Finding.objects.exists()


def expire_session(page):
    """As if the person had left the computer for 16 minutes: the session's last activity is
    moved back (the server's inactivity sign-out reads it on the next request)."""
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    session = SessionStore(session_key=cookie["value"])
    session[LAST_ACTIVITY] = session[LAST_ACTIVITY] - 16 * 60
    session.save()


def test_a_call_logged_after_the_session_expired_keeps_the_form(
    page, login, screenshot, afternoon, radiologist, referrer
):
    finding = flag_on(radiologist, referrer, "CT-7003", minutes_ago=3)
    login("radiologist")
    page.goto(f"/findings/{finding.pk}/call/")
    page.get_by_label("Reached, read back").check()
    page.locator("summary", has_text="notes").click()
    page.get_by_label("Notes").fill("Read back by Dr Smith; chest drain in ED.")
    expire_session(page)
    page.get_by_role("button", name="Save call").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.get_by_text("what you typed is kept").wait_for()
    screenshot("34-signed-out-form-kept")
    assert not CommunicationAttempt.objects.exists()

    page.get_by_label("Username").fill("radiologist")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf"/findings/{finding.pk}/call/$"))
    page.get_by_text("has been put back").wait_for()
    expect(page.get_by_label("Notes")).to_have_value("Read back by Dr Smith; chest drain in ED.")
    expect(page.get_by_label("Reached, read back")).to_be_checked()
    screenshot("35-form-put-back")
    assert not CommunicationAttempt.objects.exists()  # put back, never sent by itself
    page.get_by_role("button", name="Save call").click()
    page.get_by_role("heading", name="Documentation statement for the report").wait_for()
    attempt = CommunicationAttempt.objects.get()
    assert attempt.notes == "Read back by Dr Smith; chest drain in ED."


def test_a_stale_form_shows_a_plain_page(page, login, screenshot, afternoon, radiologist, referrer):
    finding = flag_on(radiologist, referrer, "CT-7004", minutes_ago=3)
    login("radiologist")
    page.goto(f"/findings/{finding.pk}/call/")
    page.get_by_label("No answer").check()
    # Signed in again in another tab: this page's form is no longer current.
    page.context.clear_cookies(name="csrftoken")
    page.get_by_role("button", name="Save call").click()
    page.get_by_role("heading", name="The form was not sent").wait_for()
    text = page.locator("main").inner_text()
    assert "CSRF" not in text and "token" not in text.lower()
    screenshot("36-form-not-sent")
    page.get_by_role("link", name="Go back to the form").click()
    page.wait_for_url(re.compile(rf"/findings/{finding.pk}/call/$"))


def test_a_misflagged_finding_is_cancelled_from_its_page(
    page, login, screenshot, afternoon, radiologist, referrer
):
    finding = flag_on(radiologist, referrer, "CT-7005")
    login("radiologist")
    page.goto(f"/findings/{finding.pk}/")
    page.locator("summary", has_text="Cancel this finding").click()
    cancel = page.locator('form[data-correction="cancel"]')
    cancel.get_by_label("Reason").fill("Flagged on the wrong exam: the right one is CT-7006.")
    screenshot("31-cancel-misflagged")
    cancel.get_by_role("button", name="Cancel the finding").click()
    page.get_by_text("Cancelled. It has left every worklist").wait_for()
    finding.refresh_from_db()
    assert finding.status == Status.CANCELLED
    assert finding.next_escalation_at is None
    last = page.locator(".timeline-event").last.inner_text()
    assert last.startswith("Cancelled") and "the right one is CT-7006" in last
    screenshot("32-finding-cancelled")
    page.goto("/worklist/")
    page.get_by_text("No open findings.").wait_for()


def test_the_worklist_at_phone_width(page, login, screenshot, afternoon, radiologist, referrer):
    flag_on(radiologist, referrer, "CT-7010", "significant", minutes_ago=26 * 60)
    flag_on(radiologist, referrer, "CT-7011", "critical", minutes_ago=75)
    flag_on(radiologist, referrer, "CT-7012", "critical", minutes_ago=20)
    long_text = "Incidental " + "renal-cyst-" * 12 + "no-follow-up-needed."  # no break
    flag_on(radiologist, referrer, "CT-7013", "routine", minutes_ago=5, text=long_text)
    page.set_viewport_size(PHONE)
    login("radiologist")
    page.goto("/worklist/")
    rows = page.locator("#worklist tbody tr")
    expect(rows).to_have_count(4)
    # Clinical priority: overdue critical, critical by time left, then the rest.
    assert "CT-7011" in rows.nth(0).inner_text() and "CT-7012" in rows.nth(1).inner_text()
    assert "CT-7010" in rows.nth(2).inner_text()
    # Nothing runs off the side: no horizontal scroll, the action button in view.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    box = rows.nth(0).get_by_role("link", name=re.compile("Log call")).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot("33-phone-worklist")
    # Long unbroken text wraps on the finding page too.
    rows.nth(3).get_by_role("link", name=re.compile("Incidental")).click()
    page.get_by_role("heading", name="Timeline").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width


def test_a_mistyped_identifier_is_corrected_and_the_page_says_so(
    page, login, screenshot, afternoon, radiologist, referrer
):
    finding = flag_on(radiologist, referrer, "CT-7020")
    old = finding.exam.patient.identifier
    login("radiologist")
    page.goto(f"/findings/{finding.pk}/")
    page.locator("summary", has_text="Correct the patient's details").click()
    form = page.locator('form[data-correction="correct_patient"]')
    form.get_by_label("NHS number").check()
    form.locator("input[name=identifier]").fill("943 476 5919")
    form.get_by_label("Reason for the correction").fill(
        "MRN typed for the NHS number; PAS checked."
    )
    form.get_by_role("button", name="Save the correction").click()
    page.get_by_text("Patient details corrected. The timeline shows").wait_for()
    expect(page.locator("[data-corrected]")).to_contain_text("Patient details corrected")
    event = page.locator(".timeline-event", has_text="Patient details corrected").inner_text()
    assert f"{old} → 9434765919" in event and "PAS checked" in event
    screenshot("37-patient-corrected")
