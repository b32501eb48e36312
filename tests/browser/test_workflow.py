"""End to end in a real Chromium: the radiologist flags a critical finding, logs a failed call
then a read-back (from the keyboard alone), the referrer acknowledges from the inbox, and the
finding page shows the five events in order with the right people.

Screenshots of each screen go to docs/screenshots/ (numbered in flow order; README links them).
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from tracker import clock
from tracker.models import Finding, Status
from tracker.services import findings as services

from ..factories import ExamFactory, PatientFactory, ReferrerFactory
from .conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 768, "height": 1024}
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
def screenshot(page):
    """As tests/browser/conftest.py's, with transitions finished, so a focus ring caught
    half-way does not change the picture from one run to the next."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def _shot(name):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")

    return _shot


@pytest.fixture
def afternoon():
    """Server time starts at 14:00 GMT and runs on, so the screenshots only change when the
    screens do (the browser keeps its own clock)."""
    with time_machine.travel(datetime(2026, 11, 23, 14, 0, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def ward(afternoon, radiologist, referrer):
    """A realistic afternoon: the referrer with a covering colleague, two other open findings."""
    cover = ReferrerFactory(
        username="cover",
        first_name="Sam",
        last_name="Taylor",
        grade="Registrar",
        phone="01632 960 203",
        bleep="3203",
    )
    referrer.covering_colleague = cover
    referrer.department.name = "General Surgery"
    referrer.department.save()
    referrer.save()
    now = clock.now()
    for n, minutes_ago, patient, text in [
        (1, 75, ("Walker", "Brittany"), "Type A aortic dissection extending to the arch."),
        (2, 40, ("Mendez", "Rebecca"), "Acute left subdural haematoma with midline shift."),
    ]:
        exam = ExamFactory(
            accession_number=f"CT-000{n}",
            ordering_clinician=referrer,
            patient=PatientFactory(
                identifier=f"999000000{n}", family_name=patient[0], given_name=patient[1]
            ),
        )
        with clock.replay_at(now - timedelta(minutes=minutes_ago)):
            services.finding_flag(
                actor=radiologist,
                accession_number=exam.accession_number,
                category="critical",
                description=text,
            )
    return ExamFactory(
        accession_number="E2E-0001",
        ordering_clinician=referrer,
        body_part="Chest",
        patient=PatientFactory(identifier="9990000003", family_name="Chandler", given_name="Helen"),
    )


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))


def test_a_critical_finding_goes_from_flag_to_acknowledgement(
    page, login, screenshot, ward, radiologist, referrer
):
    # --- the radiologist ----------------------------------------------------------------------
    page.goto("/accounts/login/")
    screenshot("01-login")
    login("radiologist")
    page.get_by_role("heading", name="My open communications").wait_for()
    assert page.evaluate("typeof htmx") == "object"  # served locally by django-htmx
    assert "overdue by 15 min" in page.locator("#worklist").inner_text()
    screenshot("02-radiologist-worklist")

    page.get_by_role("link", name="Flag a finding").first.click()
    # The scanner's Enter is handled by tracker.js (deferred): wait until it has run, as any
    # user does (typing into the field the moment it is parsed raced the script).
    page.wait_for_url(re.compile(r"/findings/new/$"))
    page.wait_for_load_state("domcontentloaded")
    page.get_by_label("Accession number").fill("E2E-0001")
    page.keyboard.press("Enter")  # as a barcode scanner does: moves on, does not submit
    expect(page.get_by_label("Finding")).to_be_focused()
    # htmx fills in the exam and how to reach the clinician, without a reload.
    page.get_by_role("heading", name="Call Dr Alex Smith").wait_for()
    assert "3203" in page.locator("#exam-summary").inner_text()  # the covering colleague's bleep
    page.get_by_label("Finding").fill("Large right tension pneumothorax with mediastinal shift.")
    screenshot("03-flag-finding")
    page.get_by_role("button", name="Flag finding").click()
    page.get_by_role("heading", name="Timeline").wait_for()
    finding = Finding.objects.get(exam__accession_number="E2E-0001")
    assert finding.status == Status.AWAITING_CONTACT
    screenshot("04-finding-flagged")

    page.get_by_role("link", name="Log a call").click()
    page.get_by_label("No answer").check()
    screenshot("05-log-call")
    page.get_by_role("button", name="Save call").click()
    page.get_by_text("Attempt recorded; the finding stays open.").wait_for()
    finding.refresh_from_db()
    assert finding.status == Status.AWAITING_CONTACT

    # The read-back, from the keyboard alone: the form opens on "whom", pre-filled.
    page.get_by_role("link", name="Log a call").click()
    page.wait_for_url(re.compile(r"/call/$"))
    expect(page.get_by_label("Whom you reached")).to_be_focused()
    page.keyboard.press("Tab")  # number called (pre-filled)
    page.keyboard.press("Tab")  # channel: telephone, already chosen
    page.keyboard.press("Tab")  # outcome: the first choice is "Reached, read back"
    expect(page.get_by_label("Reached, read back")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Documentation statement for the report").wait_for()
    finding.refresh_from_db()
    assert finding.status == Status.COMMUNICATED
    statement = page.locator("#statement").inner_text()
    assert re.fullmatch(
        r"Critical result communicated to Dr A Smith, FY2 General Surgery, by telephone at "
        r"\d\d:\d\d (GMT|BST) on \d\d/\d\d/\d{4} by Dr B Jones; read back confirmed\.",
        statement,
    ), statement
    page.get_by_role("button", name="Copy statement").click()
    page.locator(".copy-status").filter(has_text=re.compile(r"Copied|Selected")).wait_for()
    screenshot("06-finding-statement")
    sign_out(page)

    # --- the referrer -------------------------------------------------------------------------
    login("referrer")
    page.get_by_role("heading", name="Inbox").wait_for()
    # Clinical priority: the overdue critical result (not yet reached) first, then the rest.
    assert "aortic dissection" in page.locator("#worklist tbody tr").first.inner_text()
    row = page.locator("#worklist tbody tr").filter(has_text="tension pneumothorax")
    assert "Awaiting acknowledgement" in row.inner_text()
    screenshot("07-referrer-inbox")
    row.get_by_role("link", name="Acknowledge").click()
    page.get_by_label("Note").fill("Chest drain in ED now.")
    screenshot("08-acknowledge")
    page.get_by_role("button", name="Admitted / sent to ED").click()
    page.get_by_text("Acknowledged: Admitted / sent to ED.").wait_for()
    finding.refresh_from_db()
    assert finding.status == Status.ACKNOWLEDGED

    events = page.locator(".timeline-event")
    assert events.count() == 5
    shown = [events.nth(i).inner_text() for i in range(5)]
    expected = [
        ("Flagged critical", "Dr Bea Jones"),
        ("Call: no answer", "Dr Bea Jones"),
        ("Call: reached, read back", "Dr Bea Jones"),
        ("Communicated", "Dr Bea Jones"),
        ("Acknowledged", "Dr Alex Smith"),
    ]
    for text, (title, who) in zip(shown, expected, strict=True):
        lines = text.splitlines()
        assert lines[0] == title, text
        assert re.match(r"\d\d:\d\d (GMT|BST) \d\d/\d\d/\d{4} · " + who + "$", lines[1]), text
    screenshot("09-finding-timeline")

    # --- the same screens at tablet width -----------------------------------------------------
    page.set_viewport_size(TABLET)
    screenshot("10-tablet-finding")
    page.get_by_role("link", name="Inbox").click()
    page.get_by_role("heading", name="Inbox").wait_for()
    screenshot("11-tablet-referrer-inbox")
    sign_out(page)
    login("radiologist")
    page.get_by_role("heading", name="My open communications").wait_for()
    screenshot("12-tablet-radiologist-worklist")
    page.locator("#worklist tbody tr").first.get_by_role("link", name="Log call").click()
    page.get_by_role("heading", name="Log a call").wait_for()
    screenshot("13-tablet-log-call")
    page.set_viewport_size(LAPTOP)


def test_the_worklist_refreshes_itself_in_the_background(page, login, radiologist, exam, flag):
    login("radiologist")
    page.clock.install()
    page.goto("/worklist/")
    page.get_by_text("No open findings.").wait_for()
    flag("critical", description="Tension pneumothorax flagged on another workstation.")
    with page.expect_request(lambda r: r.url.endswith("/worklist/")) as refresh:
        page.clock.run_for("00:31")
    # Marked as a background refresh: the inactivity logoff does not count it as activity.
    assert refresh.value.headers.get("x-background-refresh") == "1"
    assert refresh.value.headers.get("hx-request") == "true"
    page.get_by_text("Tension pneumothorax flagged on another workstation.").wait_for()
    assert page.get_by_role("heading", name="My open communications").count() == 1
    assert re.search(r"(1 h|59 min) left", page.locator("#worklist").inner_text())


def test_a_refresh_after_signing_out_elsewhere_reloads_to_the_sign_in_page(
    page, login, radiologist
):
    login("radiologist")
    page.clock.install()
    page.goto("/worklist/")
    page.get_by_text("No open findings.").wait_for()
    # Sign out behind the page's back (as an inactivity logoff would), then let it refresh.
    page.context.clear_cookies()
    page.clock.run_for("00:31")
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.locator("#worklist").count() == 0
