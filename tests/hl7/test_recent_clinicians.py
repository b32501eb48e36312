"""HL7 ingest remembers the clinicians recent messages named (HL7_CLINICIAN_CACHE_SECONDS), and
never in a way that routes a result to the wrong person for longer than that."""

import pytest

from tests.factories import ReferrerFactory
from tracker.audit.bulk import allow_bulk
from tracker.hl7 import mapping
from tracker.hl7.message import Person
from tracker.models import ProviderIdentifier

pytestmark = pytest.mark.django_db

ORDERING = Person(id="GMC123", family="Smith", authority="GMC")
UNKNOWN = Person(id="LOCUM9", family="Locum")


@pytest.fixture
def gmc_referrer():
    user = ReferrerFactory(username="asmith")
    ProviderIdentifier.objects.create(user=user, value="GMC123", assigning_authority="GMC")
    return user


def test_a_clinician_named_again_soon_is_not_looked_up_again(
    gmc_referrer, django_assert_num_queries
):
    with django_assert_num_queries(1):
        assert mapping.find_users(ORDERING) == [gmc_referrer]
    with django_assert_num_queries(0):
        assert mapping.find_users(ORDERING) == [gmc_referrer]


def test_an_answer_with_someone_unknown_is_not_kept(gmc_referrer, django_assert_num_queries):
    assert mapping.find_users(ORDERING, UNKNOWN) == [gmc_referrer, None]
    locum = ReferrerFactory(username="locum")
    ProviderIdentifier.objects.create(user=locum, value="LOCUM9")
    with django_assert_num_queries(1):
        assert mapping.find_users(ORDERING, UNKNOWN) == [gmc_referrer, locum]


def test_an_identifier_moved_in_this_process_takes_effect_at_once(gmc_referrer):
    assert mapping.find_users(ORDERING) == [gmc_referrer]
    successor = ReferrerFactory(username="bjones")
    identifier = ProviderIdentifier.objects.get(value="GMC123")
    identifier.user = successor
    identifier.save()
    assert mapping.find_users(ORDERING) == [successor]


def test_a_change_from_another_process_is_seen_once_the_time_has_passed(
    gmc_referrer, settings, monkeypatch
):
    settings.HL7_CLINICIAN_CACHE_SECONDS = 5
    now = [1000.0]
    monkeypatch.setattr(mapping.time, "monotonic", lambda: now[0])
    successor = ReferrerFactory(username="bjones")
    assert mapping.find_users(ORDERING) == [gmc_referrer]
    # A change in another process (the admin site) sends no signal here; an UPDATE sends none.
    with allow_bulk("as another process would write it, with no signal here"):
        ProviderIdentifier.objects.filter(value="GMC123").update(user=successor)
    now[0] += 4.9
    assert mapping.find_users(ORDERING) == [gmc_referrer]
    now[0] += 0.2
    assert mapping.find_users(ORDERING) == [successor]


def test_zero_seconds_looks_up_every_time(gmc_referrer, settings, django_assert_num_queries):
    settings.HL7_CLINICIAN_CACHE_SECONDS = 0
    mapping.find_users(ORDERING)
    with django_assert_num_queries(1):
        assert mapping.find_users(ORDERING) == [gmc_referrer]
