"""Every URL of the project, as every role and as anonymous, answers as tracker.access.URL_ACCESS
says. URLs come from the resolver, so a URL added by any branch is checked (or, when missing from
the matrix, fails here by name)."""

import pytest
from django.test import Client

from tracker import access

from .urlwalk import url_for, walk

pytestmark = pytest.mark.django_db


def test_every_url_answers_each_role_as_the_matrix_says(world):
    users, objects = world
    routes = list(walk())
    assert len(routes) > 50  # the admin alone has dozens: the walk found the project's URLs
    clients = {}
    for role, user in users.items():
        clients[role] = Client()
        if user is not None:
            clients[role].force_login(user)
    problems = []
    for route in routes:
        if access.expected_status(route.key, "anonymous") is None:
            problems.append(f"{route.key} ({route.route}): not in tracker.access.URL_ACCESS")
            continue
        url, reason = url_for(route, objects)
        if url is None:
            problems.append(reason)
            continue
        for role, client in clients.items():
            status = client.get(url).status_code
            expected = access.expected_status(route.key, role)
            if status != expected:
                problems.append(f"{route.key} GET {url} as {role}: {status}, expected {expected}")
    assert not problems, "Access matrix mismatches:\n" + "\n".join(problems)


def test_a_url_missing_from_the_matrix_is_named(monkeypatch):
    monkeypatch.setattr(access, "URL_ACCESS", [("home", access.SIGNED_IN)])
    assert access.expected_status("home", "referrer") == 200
    assert access.expected_status("audit:finding_access_log", "referrer") is None
