"""Administrators configure; they cannot rewrite clinical history through the admin."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from tracker.audit import triggers
from tracker.models import Finding

pytestmark = pytest.mark.django_db


def test_an_administrator_can_view_but_not_restore_a_past_version(clock, flag, administrator):
    finding = flag()
    version = finding.history.get()
    client = Client()
    client.force_login(administrator)
    url = reverse("admin:tracker_finding_simple_history", args=[finding.pk, version.history_id])
    response = client.get(url)
    assert response.status_code == 200
    assert b"Revert" not in response.content
    response = client.post(url, {"description": "Nothing acute.", "category": "routine"})
    assert response.status_code == 403
    assert Finding.objects.get().description == "Large right pneumothorax."
    assert finding.history.count() == 1


def test_restoring_a_past_policy_version_is_refused_too(db, administrator):
    from tracker.models import CommunicationPolicy

    policy = CommunicationPolicy.objects.get(category="critical")
    version = policy.history.first()
    client = Client()
    client.force_login(administrator)
    url = reverse(
        "admin:tracker_communicationpolicy_simple_history", args=[policy.pk, version.history_id]
    )
    assert client.post(url, {"label": "Changed"}).status_code == 403


def test_verify_audit_names_a_table_whose_triggers_were_dropped(db):
    table = "tracker_historicalfinding"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER {triggers.ROW_TRIGGER} ON {table}")
        else:
            cursor.execute(f"DROP TRIGGER {triggers.ROW_TRIGGER}_update_{table}")
    with pytest.raises(CommandError, match=f"{table}: append-only triggers missing"):
        call_command("verify_audit")
