"""A governance lead watches the live overdue dashboard and reads the compliance report."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import DepartmentFactory, ExamFactory, RadiologistFactory, ReferrerFactory
from tracker import clock
from tracker.models import Channel, Outcome, PlannedAction
from tracker.services import findings as services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def build_history(radiologist, referrers):
    """Ten weeks of findings through the real services, at replayed times, plus three open
    ones for the dashboard. Returns nothing; the pages must find them."""
    now = timezone.now()

    def finding(category, ago, referrer, contact=None, ack=None, reason="", attempts=()):
        flagged = now - ago
        exam = ExamFactory(
            ordering_clinician=referrer, modality=("CT", "MR", "XR")[int(ago.days) % 3]
        )
        with clock.replay_at(flagged):
            f = services.finding_flag(
                actor=radiologist,
                accession_number=exam.accession_number,
                category=category,
                description="Browser test finding.",
            )
        for minutes, outcome in attempts:
            with clock.replay_at(flagged + timedelta(minutes=minutes)):
                services.attempt_log(
                    actor=radiologist,
                    finding=f,
                    channel=Channel.PHONE,
                    outcome=outcome,
                    contacted_user=referrer,
                )
        if contact is not None:
            with clock.replay_at(flagged + timedelta(minutes=contact)):
                services.attempt_log(
                    actor=radiologist,
                    finding=f,
                    channel=Channel.PHONE,
                    outcome=Outcome.READ_BACK,
                    contacted_user=referrer,
                    breach_reason=reason,
                )
        if ack is not None:
            with clock.replay_at(flagged + timedelta(minutes=contact + ack)):
                services.finding_acknowledge(
                    actor=referrer, finding=f, planned_action=PlannedAction.TREATMENT_STARTED
                )
        return f

    for day in range(3, 70, 2):
        referrer = referrers[day % len(referrers)]
        late = day % 7 == 0
        finding(
            "critical",
            timedelta(days=day, hours=2),
            referrer,
            contact=75 if late else 15 + day % 40,
            ack=20 + day % 50,
            reason="referrer_unreachable" if late else "",
        )
        finding(
            "significant", timedelta(days=day, hours=5), referrer, contact=180 + day * 5, ack=120
        )
        if day % 5 == 0:
            finding("routine", timedelta(days=day, hours=1), referrer)
    finding(
        "critical",
        timedelta(minutes=95),
        referrers[0],
        attempts=[(5, Outcome.NO_ANSWER), (30, Outcome.VOICEMAIL)],
    )
    finding("critical", timedelta(minutes=25), referrers[1], attempts=[(3, Outcome.NO_ANSWER)])
    finding("critical", timedelta(hours=4), referrers[2], contact=35)


def test_a_governance_lead_watches_overdue_findings_and_reads_the_report(
    page, login, screenshot, governance, referrer
):
    radiologist = RadiologistFactory(username="rad-browser", first_name="Bea", last_name="Jones")
    medicine = DepartmentFactory(code="medicine", name="Acute Medicine")
    referrers = [
        referrer,
        ReferrerFactory(username="ref-b", first_name="Dee", last_name="Patel", department=medicine),
        ReferrerFactory(username="ref-c", first_name="Kit", last_name="Moss"),
    ]
    build_history(radiologist, referrers)

    page.clock.install()
    login("governance")
    page.get_by_role("link", name="Governance").click()
    page.wait_for_url("**/governance/")
    assert page.get_by_role("heading", name="Overdue now").is_visible()
    overdue = page.locator('table[data-section="overdue"] tbody tr')
    assert overdue.count() == 1
    assert "late" in overdue.first.inner_text()
    assert "Voicemail left" in overdue.first.inner_text()
    assert page.locator('table[data-section="due_soon"] tbody tr').count() == 1
    assert page.locator('table[data-section="unacknowledged"] tbody tr').count() == 1
    screenshot("20-governance-dashboard")

    # The list refreshes in place every 30 s, marked as a background request.
    with page.expect_request(
        lambda r: r.url.endswith("/governance/") and r.headers.get("x-background-refresh") == "1"
    ) as refresh:
        page.clock.fast_forward("00:31")
    assert refresh.value.headers.get("hx-request") == "true"
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Overdue now").count() == 1  # no full reload

    page.get_by_role("link", name="Compliance report").click()
    page.select_option("#id_period", "quarter")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**period=quarter**")
    assert page.locator("#trend-chart").is_visible()
    findings_shown = page.locator('[data-measure="findings"]').inner_text()
    breaches_shown = page.locator('[data-measure="breached"]').inner_text()
    assert int(findings_shown) > 20
    screenshot("21-compliance-report")

    page.locator('[data-measure="breached"]').click()
    page.wait_for_url("**measure=breached**")
    assert page.locator("#drill-count").inner_text() == breaches_shown
    assert page.locator("#drill-down tbody tr").count() == int(breaches_shown)
