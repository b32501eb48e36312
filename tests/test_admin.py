"""Administrators configure the site; clinical records are read-only in the admin, with history."""

import pytest
from django.urls import reverse

from tracker.models import CommunicationPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(db):
    from .factories import UserFactory

    return UserFactory(username="siteadmin", role="administrator", is_staff=True, is_superuser=True)


def test_every_model_has_a_changelist_and_a_history_view(client, admin_user, clock, flag):
    finding = flag("critical")
    client.force_login(admin_user)
    for model in [
        "finding",
        "exam",
        "patient",
        "user",
        "department",
        "communicationpolicy",
        "communicationattempt",
        "acknowledgement",
        "handover",
        "escalation",
    ]:
        response = client.get(reverse(f"admin:tracker_{model}_changelist"))
        assert response.status_code == 200, model
    response = client.get(reverse("admin:tracker_finding_history", args=[finding.pk]))
    assert response.status_code == 200
    assert "Flagged" in response.content.decode()


def test_clinical_records_cannot_be_changed_or_deleted_in_the_admin(
    client, admin_user, clock, flag
):
    finding = flag("critical")
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:tracker_finding_change", args=[finding.pk]), {"description": "edited"}
    )
    assert response.status_code == 403
    response = client.post(
        reverse("admin:tracker_finding_delete", args=[finding.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    finding.refresh_from_db()
    assert finding.description == "Large right pneumothorax."


def test_an_administrator_edits_the_policy_and_the_change_is_in_its_history(client, admin_user):
    policy = CommunicationPolicy.objects.get(category="critical")
    client.force_login(admin_user)
    url = reverse("admin:tracker_communicationpolicy_change", args=[policy.pk])
    response = client.post(
        url,
        {
            "label": "Critical / emergent",
            "contact_deadline": "00:45:00",
            "acknowledgement_window": "01:00:00",
            "warning_percent": "50",
            "accepted_channels": ["phone", "in_person"],
            "read_back_required": "on",
            "escalation_chain": ["warning_reminder", "deadline_cover", "breach_governance"],
            "reminder_interval": "00:15:00",
            "max_alerts_per_person_per_hour": "4",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy.refresh_from_db()
    assert str(policy.contact_deadline) == "0:45:00"
    assert policy.history.first().history_user == admin_user


def test_a_policy_with_an_unknown_channel_or_zero_deadline_is_refused(client, admin_user):
    policy = CommunicationPolicy.objects.get(category="critical")
    client.force_login(admin_user)
    url = reverse("admin:tracker_communicationpolicy_change", args=[policy.pk])
    response = client.post(
        url,
        {
            "label": "Critical",
            "contact_deadline": "00:00:00",
            "acknowledgement_window": "01:00:00",
            "warning_percent": "50",
            "accepted_channels": ["phone"],
            "read_back_required": "on",
            "escalation_chain": [],
            "reminder_interval": "00:15:00",
            "max_alerts_per_person_per_hour": "4",
        },
    )
    assert response.status_code == 200
    assert "Must be longer than zero." in response.content.decode()
    policy.refresh_from_db()
    assert str(policy.contact_deadline) == "1:00:00"
