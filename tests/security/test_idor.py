"""Object-level access: changing the id in a URL to an object the user may not see gives 404,
for every URL pattern that names a clinical object (tracker.access.OBJECT_URLS)."""

import pytest
from django.test import Client

from tests.factories import ExamFactory, RadiologistFactory, ReferrerFactory
from tracker import access
from tracker.services import findings as services

from .urlwalk import url_for, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def hidden(clock):
    """Objects of each kind that only governance may see: another department's radiologist
    flagged a finding for another team's referrer."""
    other_radiologist = RadiologistFactory(
        username="elsewhere-radiologist", department__code="radiology-north"
    )
    other_referrer = ReferrerFactory(username="elsewhere-referrer")
    exam = ExamFactory(ordering_clinician=other_referrer)
    finding = services.finding_flag(
        actor=other_radiologist,
        accession_number=exam.accession_number,
        category="critical",
        description="Pneumothorax.",
    )
    attempt = services.attempt_log(
        actor=other_radiologist,
        finding=finding,
        channel="phone",
        outcome="no_answer",
        contacted_user=other_referrer,
    )
    return {"finding": finding, "patient": exam.patient, "attempt": attempt}


def object_routes():
    for route in walk():
        if route.key.startswith("admin:") or not route.kwargs:
            continue
        yield route


def test_every_url_with_an_id_is_declared_an_object_url(db):
    undeclared = [
        route.key
        for route in object_routes()
        if route.key not in access.OBJECT_URLS and route.key not in access.NON_OBJECT_URLS
    ]
    assert not undeclared, (
        "URLs with arguments missing from tracker.access.OBJECT_URLS (which object kind the id "
        "names) or NON_OBJECT_URLS: " + ", ".join(undeclared)
    )


def test_changing_the_id_to_an_object_the_user_may_not_see_gives_404(world, hidden, stranger):
    users, _ = world
    checked = 0
    problems = []
    for route in object_routes():
        kind = access.OBJECT_URLS.get(route.key)
        if kind is None:
            continue
        if kind not in hidden:
            problems.append(f"{route.key}: no hidden object of kind '{kind}' in this test")
            continue
        url, reason = url_for(route, hidden)
        assert url is not None, reason
        for user in [stranger, users["radiologist"], users["referrer"]]:
            client = Client()
            client.force_login(user)
            status = client.get(url).status_code
            if status == 405:  # POST-only endpoint: the object check happens on POST
                status = client.post(url, {}, content_type="application/json").status_code
            checked += 1
            if status != 404:
                problems.append(f"{route.key} {url} as {user.username}: {status}, expected 404")
        # An id that does not exist is indistinguishable from one you may not see.
        missing_url, _ = url_for(route, {k: type(v)(pk=987654) for k, v in hidden.items()})
        client = Client()
        client.force_login(users["governance"])
        status = client.get(missing_url).status_code
        if status == 405:
            status = client.post(missing_url, {}, content_type="application/json").status_code
        if status != 404:
            problems.append(f"{route.key} {missing_url}: a missing object is not 404")
    assert not problems, "\n".join(problems)
    assert checked >= 3  # at least the access log URL on this branch
