"""The finding page: timeline from the audit history, statement, who may see it."""

from datetime import timedelta

import pytest
from django.urls import reverse

from tracker.models import Escalation, EscalationStatus, EscalationStep, Outcome, PlannedAction
from tracker.services import findings as services

from ..factories import RadiologistFactory, ReferrerFactory

pytestmark = pytest.mark.django_db


def test_the_timeline_shows_every_event_in_order_with_who_and_when(
    clock, as_user, flag, radiologist, referrer, call
):
    finding = flag("critical")
    clock.shift(timedelta(minutes=5))
    call(finding, radiologist, outcome=Outcome.NO_ANSWER)
    clock.shift(timedelta(minutes=7))
    call(finding, radiologist)
    clock.shift(timedelta(minutes=10))
    services.finding_acknowledge(
        actor=referrer, finding=finding, planned_action=PlannedAction.ADMITTED, note="Chest drain"
    )
    response = as_user(radiologist).get(reverse("finding", args=[finding.pk]))
    events = [(e.kind, e.title, e.actor_name, e.when) for e in response.context["timeline"]]
    t0 = finding.flagged_at
    assert events == [
        ("flagged", "Flagged critical", "Dr Bea Jones", t0),
        ("attempt", "Call: no answer", "Dr Bea Jones", t0 + timedelta(minutes=5)),
        ("attempt", "Call: reached, read back", "Dr Bea Jones", t0 + timedelta(minutes=12)),
        ("communicated", "Communicated", "Dr Bea Jones", t0 + timedelta(minutes=12)),
        ("acknowledged", "Acknowledged", "Dr Alex Smith", t0 + timedelta(minutes=22)),
    ]
    html = response.content.decode()
    assert "14:22 GMT 23/11/2026" in html
    assert "Planned action: Admitted / sent to ED" in html


def test_the_timeline_shows_escalations_and_hand_overs(
    clock, as_user, flag, radiologist, referrer, governance
):
    finding = flag("critical")
    cover = ReferrerFactory(username="cover", first_name="Sam", last_name="Taylor")
    escalation = Escalation.objects.create(
        finding=finding,
        step=EscalationStep.WARNING_REMINDER,
        recipient=radiologist,
        due_at=finding.warning_at,
    )
    clock.shift(timedelta(minutes=30))
    escalation.status = EscalationStatus.SENT
    escalation.sent_at = finding.warning_at
    escalation.save()
    clock.shift(timedelta(minutes=1))
    services.finding_hand_over(
        actor=referrer, finding=finding, to_clinician=cover, reason="End of shift"
    )
    response = as_user(governance).get(reverse("finding", args=[finding.pk]))
    titles = [e.title for e in response.context["timeline"]]
    assert titles == [
        "Flagged critical",
        "Escalation: Reminder to the flagging radiologist (warning point)",
        "Escalation sent: Reminder to the flagging radiologist (warning point)",
        "Handed over",
    ]
    html = response.content.decode()
    assert "From Dr Alex Smith to Dr Sam Taylor" in html
    assert "Due 14:30 GMT 23/11/2026" in html
    assert "Sent 14:30 GMT 23/11/2026" in html


def test_it_offers_the_documentation_statement_once_read_back(
    clock, as_user, flag, radiologist, call
):
    finding = flag("critical")
    client = as_user(radiologist)
    assert client.get(reverse("finding", args=[finding.pk])).context["statement"] == ""
    call(finding, radiologist)
    html = client.get(reverse("finding", args=[finding.pk])).content.decode()
    assert "read back confirmed." in html
    assert 'data-copy-target="#statement"' in html
    assert "<script>" not in html and "style=" not in html  # CSP: script-src 'self'


def test_a_referrer_who_opens_another_referrers_finding_gets_404(clock, as_user, flag, stranger):
    finding = flag("critical")
    client = as_user(stranger)
    for name in ("finding", "acknowledge", "hand_over", "log_call"):
        assert client.get(reverse(name, args=[finding.pk])).status_code == 404


def test_a_radiologist_of_another_department_gets_404(clock, as_user, flag):
    finding = flag("critical")
    outsider = RadiologistFactory(username="outsider", department__code="elsewhere")
    assert as_user(outsider).get(reverse("finding", args=[finding.pk])).status_code == 404


def test_governance_reads_and_is_offered_only_cancel_or_entered_in_error(
    clock, as_user, flag, governance, radiologist, call
):
    finding = flag("critical")
    call(finding, radiologist)
    client = as_user(governance)
    response = client.get(reverse("finding", args=[finding.pk]))
    assert response.status_code == 200
    offered = {name for name, allowed in response.context["actions"].items() if allowed}
    assert offered == {"void"}
    assert response.context["acknowledge_form"] is None
    assert client.get(reverse("log_call", args=[finding.pk])).status_code == 403
    assert client.get(reverse("acknowledge", args=[finding.pk])).status_code == 403


def test_the_responsible_clinician_can_acknowledge_from_the_finding_page(
    clock, as_user, flag, radiologist, referrer, call
):
    finding = flag("critical")
    call(finding, radiologist)
    html = as_user(referrer).get(reverse("finding", args=[finding.pk])).content.decode()
    assert 'name="planned_action" value="admitted"' in html


def test_the_timeline_shows_edits_with_the_fields_changed(clock, as_user, flag, radiologist):
    from tracker.services.base import save_with_history

    finding = flag("critical")
    clock.shift(timedelta(minutes=3))
    finding.description = "Large right tension pneumothorax."
    save_with_history(finding, radiologist, "Corrected the description")
    response = as_user(radiologist).get(reverse("finding", args=[finding.pk]))
    edited = response.context["timeline"][-1]
    assert (edited.kind, edited.title, edited.actor_name) == (
        "edited",
        "Finding edited",
        "Dr Bea Jones",
    )
    assert edited.details == ["Changed: description", "Corrected the description"]


def test_the_timeline_shows_cancelling_with_the_reason(clock, as_user, flag, radiologist):
    finding = flag("critical")
    services.finding_cancel(actor=radiologist, finding=finding, reason="Flagged twice")
    response = as_user(radiologist).get(reverse("finding", args=[finding.pk]))
    cancelled = response.context["timeline"][-1]
    assert (cancelled.title, cancelled.details) == ("Cancelled", ["Cancelled: Flagged twice"])
