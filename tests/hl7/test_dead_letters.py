"""Administrators review dead letters and re-process them; nothing is deleted."""

import pytest

from tests.factories import ReferrerFactory, UserFactory
from tracker.hl7 import mapping
from tracker.hl7.message import Person
from tracker.models import Finding, InboundMessage, MessageStatus, ProviderIdentifier

from .conftest import load, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(db):
    return UserFactory(
        username="site-admin", role="administrator", is_staff=True, is_superuser=True
    )


def test_an_administrator_sees_the_dead_letter_list_with_the_reason(client, admin_user, clock):
    receive(load("missing_pid.hl7"))
    client.force_login(admin_user)

    page = client.get("/admin/tracker/inboundmessage/?status__exact=error")

    assert page.status_code == 200
    assert "BAD-0002" in page.content.decode()
    detail = client.get(f"/admin/tracker/inboundmessage/{InboundMessage.objects.get().pk}/change/")
    assert "The PID segment is missing." in detail.content.decode()


def test_the_admin_action_reprocesses_dead_letters(
    client, admin_user, clock, referrer, monkeypatch
):
    with monkeypatch.context() as patch:
        patch.setattr(mapping, "modality_for", lambda order: 1 / 0)  # a transient fault
        message = receive(load("unknown_ordering_provider.hl7"))
    assert message.is_dead_letter
    ProviderIdentifier.objects.create(user=referrer, value="LOC999")
    client.force_login(admin_user)

    response = client.post(
        "/admin/tracker/inboundmessage/",
        {"action": "reprocess", "_selected_action": [message.pk]},
        follow=True,
    )

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.PROCESSED and message.reprocessed_by == admin_user
    assert Finding.objects.get().responsible_clinician == referrer


def test_dead_letters_cannot_be_deleted_or_edited_in_the_admin(client, admin_user, clock):
    message = receive(load("bad_msh.hl7"))
    client.force_login(admin_user)

    response = client.post(f"/admin/tracker/inboundmessage/{message.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert InboundMessage.objects.filter(pk=message.pk).exists()


def test_a_staff_user_without_the_permission_cannot_reprocess(client, clock, referrer, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(mapping, "modality_for", lambda order: 1 / 0)  # a transient fault
        message = receive(load("unknown_ordering_provider.hl7"))
    ProviderIdentifier.objects.create(user=referrer, value="LOC999")
    from django.contrib.auth.models import Permission

    staff = UserFactory(username="clerk", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_inboundmessage"))
    client.force_login(staff)

    client.post(
        "/admin/tracker/inboundmessage/", {"action": "reprocess", "_selected_action": [message.pk]}
    )

    message.refresh_from_db()
    assert message.status == MessageStatus.ERROR and not Finding.objects.exists()


def test_a_registered_provider_id_wins_over_a_username_match(db):
    by_username = ReferrerFactory(username="c1234")
    by_id = ReferrerFactory(username="dr-jones")
    ProviderIdentifier.objects.create(user=by_id, value="C1234", assigning_authority="GMC")

    assert mapping.find_user(Person(id="C1234", authority="GMC")) == by_id
    assert mapping.find_user(Person(id="C1234", authority="NMC")) == by_username
    assert mapping.find_user(Person(id="")) is None


def test_an_id_registered_for_its_authority_wins_over_one_registered_for_any(
    db, django_assert_num_queries
):
    for_gmc = ReferrerFactory(username="dr-gmc")
    for_any = ReferrerFactory(username="dr-any")
    ProviderIdentifier.objects.create(user=for_any, value="C77", assigning_authority="")
    ProviderIdentifier.objects.create(user=for_gmc, value="C77", assigning_authority="GMC")

    with django_assert_num_queries(1):
        found = mapping.find_users(Person(id="C77", authority="GMC"), Person(id="C77"))
    assert found == [for_gmc, for_any]
    assert mapping.find_user(Person(id="C77", authority="NMC")) == for_any
