"""Breach review: the governance lead's own record, under history, through a service."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from tracker.models import BreachReview
from tracker.services.governance import breach_review_record

pytestmark = pytest.mark.django_db


def test_it_records_a_review_with_history_naming_the_lead(known_findings, governance):
    d = known_findings["D"]
    finding_history = d.history.count()
    review = breach_review_record(
        actor=governance, finding=d, outcome="no_harm", learning="Bleep the cover sooner."
    )
    assert review.reviewed_by == governance
    last = review.history.latest()
    assert last.history_user == governance
    assert last.history_change_reason == "Breach reviewed"
    assert d.history.count() == finding_history  # the clinical record is untouched


def test_a_correction_keeps_the_first_version(known_findings, governance):
    d = known_findings["D"]
    breach_review_record(actor=governance, finding=d, outcome="no_harm")
    breach_review_record(actor=governance, finding=d, outcome="harm", incident_reference="W123")
    assert BreachReview.objects.count() == 1
    outcomes = list(
        d.breach_review.history.order_by("history_id").values_list("outcome", flat=True)
    )
    assert outcomes == ["no_harm", "harm"]


def test_harm_needs_an_incident_reference(known_findings, governance):
    with pytest.raises(ValidationError) as refused:
        breach_review_record(actor=governance, finding=known_findings["D"], outcome="harm")
    assert "incident_reference" in refused.value.message_dict
    assert not BreachReview.objects.exists()


def test_only_breaches_are_reviewed_and_only_by_governance(known_findings, governance, referrer):
    with pytest.raises(ValidationError) as refused:
        breach_review_record(actor=governance, finding=known_findings["A"], outcome="no_harm")
    assert "finding" in refused.value.message_dict
    with pytest.raises(PermissionDenied):
        breach_review_record(actor=referrer, finding=known_findings["D"], outcome="no_harm")
    assert not BreachReview.objects.exists()


def test_the_breach_list_and_review_form(client, known_findings, governance):
    client.force_login(governance)
    november = {"period": "month", "anchor": "2026-11-23"}
    listed = client.get(reverse("governance:breaches"), november)
    assert listed.context["page"].paginator.count == 3
    url = reverse("governance:breach_review", args=[known_findings["G"].pk])
    assert client.get(url).status_code == 200
    refused = client.post(url, {"outcome": "harm", "learning": "x"})
    assert refused.status_code == 400
    assert "give the incident reference" in refused.content.decode()
    saved = client.post(url, {"outcome": "harm", "incident_reference": "INC-42", "learning": "x"})
    assert saved.status_code == 302
    assert known_findings["G"].__class__.objects.get(pk=known_findings["G"].pk).breach_review
    unreviewed = client.get(reverse("governance:breaches"), november)
    assert unreviewed.context["page"].paginator.count == 2
    reviewed = client.get(reverse("governance:breaches"), {**november, "review": "reviewed"})
    assert "INC-42" in reviewed.content.decode()


def test_a_finding_that_was_on_time_has_no_review_page(client, known_findings, governance):
    client.force_login(governance)
    url = reverse("governance:breach_review", args=[known_findings["A"].pk])
    assert client.get(url).status_code == 404
