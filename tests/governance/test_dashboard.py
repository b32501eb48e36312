"""The live overdue dashboard: the three lists at a frozen 'now', and the htmx refresh."""

import pytest
from django.urls import reverse

from tracker.models import Escalation, EscalationStatus, EscalationStep
from tracker.templatetags.governance_tags import finding_url

pytestmark = pytest.mark.django_db


def test_it_lists_overdue_due_soon_and_unacknowledged_with_lateness(
    client, known_findings, governance
):
    client.force_login(governance)
    response = client.get(reverse("governance:dashboard"))
    assert response.status_code == 200
    sections = {s.key: s for s in response.context["sections"]}
    assert [f.pk for f in sections["overdue"].rows] == [known_findings["G"].pk]
    assert [f.pk for f in sections["due_soon"].rows] == [known_findings["H"].pk]
    assert [f.pk for f in sections["unacknowledged"].rows] == [known_findings["E"].pk]
    assert sections["overdue"].total == 1
    html = response.content.decode()
    # G was due 21/11 09:00; now is 23/11 14:00: 2 days 5 hours late.
    assert "2 d 5 h late" in html
    # H is due at 14:30, in 30 minutes.
    assert "30 min" in html
    # E was read back 10/11 12:30 by phone, acknowledgement due 13:30.
    assert "12:30 GMT 10/11/2026" in html
    assert "Telephone · Reached, read back" in html


def test_each_row_links_to_the_finding_timeline(client, known_findings, governance):
    client.force_login(governance)
    html = client.get(reverse("governance:dashboard")).content.decode()
    for key in ("G", "H", "E"):
        assert f'href="{finding_url(known_findings[key].pk)}"' in html


def test_it_shows_the_latest_escalation_state(client, known_findings, governance, clock):
    g = known_findings["G"]
    Escalation.objects.create(
        finding=g,
        step=EscalationStep.DEADLINE_COVER,
        due_at=g.contact_due_at,
        status=EscalationStatus.SENT,
        sent_at=g.contact_due_at,
    )
    Escalation.objects.create(
        finding=g,
        step=EscalationStep.DEADLINE_DEPARTMENT_LEAD,
        due_at=g.contact_due_at,
        status=EscalationStatus.FAILED,
    )
    client.force_login(governance)
    html = client.get(reverse("governance:dashboard")).content.decode()
    assert "Department lead (deadline)" in html
    assert "Failed" in html


def test_the_background_refresh_returns_only_the_sections(client, known_findings, governance):
    client.force_login(governance)
    page = client.get(reverse("governance:dashboard")).content.decode()
    assert 'hx-trigger="every 30s"' in page
    assert "X-Background-Refresh" in page
    assert "htmx" in page and "<script" in page
    assert "<script>" not in page  # no inline script: htmx comes from a static file
    assert " style=" not in page and " onclick=" not in page
    partial = client.get(
        reverse("governance:dashboard"), HTTP_HX_REQUEST="true", HTTP_X_BACKGROUND_REFRESH="1"
    )
    assert partial.status_code == 200
    body = partial.content.decode()
    assert "<html" not in body
    assert 'data-count="overdue">1<' in body
    assert "HX-Request" in partial["Vary"]


def test_an_empty_dashboard_says_none(client, governance, clock):
    client.force_login(governance)
    html = client.get(reverse("governance:dashboard")).content.decode()
    assert html.count("None.") == 3


def test_a_full_section_shows_the_oldest_and_counts_the_rest(
    client, governance, flag, clock, monkeypatch
):
    from datetime import timedelta

    from tracker.governance import dashboard

    monkeypatch.setattr(dashboard, "ROWS_PER_SECTION", 2)
    for _ in range(3):
        flag("critical")
        clock.shift(timedelta(minutes=1))
    clock.shift(timedelta(hours=2))
    client.force_login(governance)
    response = client.get(reverse("governance:dashboard"))
    overdue = {s.key: s for s in response.context["sections"]}["overdue"]
    assert (len(overdue.rows), overdue.total, overdue.more) == (2, 3, 1)
    assert "and 1 more" in response.content.decode()
