"""Worklist render time and SQL query count at 20, 200 and 500 open findings.

    .venv/bin/python benchmarks/worklist_render.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_screens .venv/bin/python \
        benchmarks/worklist_render.py

Makes a throwaway test database (Django's `test_` prefix), fills it through the real services
(calls on a quarter of the findings, an escalation row on a fifth), then renders the radiologist's
worklist and the governance list with Django's test client: 3 warm-up renders, then 20 timed ones.
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

SIZES = [int(n) for n in os.environ.get("SIZES", "20,200,500").split(",")]
RUNS = 20


def measure(client, url):
    for _ in range(3):
        client.get(url)
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url)
    assert response.status_code == 200
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return (
        response.content.count(b"data-finding="),
        len(queries),
        statistics.median(times),
        times[int(len(times) * 0.95) - 1],
    )


def main():
    # Not setup_test_environment(): its template instrumentation would be timed too.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from tests.factories import GovernanceFactory, RadiologistFactory, ReferrerFactory
        from tests.views.worklist_data import make_open_findings

        radiologist = RadiologistFactory(username="bench-radiologist")
        governance = GovernanceFactory(username="bench-governance")
        referrers = [ReferrerFactory(username=f"bench-referrer-{i}") for i in range(5)]
        print(f"database: {connection.vendor}; {RUNS} timed renders after 3 warm-up renders")
        print("| page | open findings | SQL queries | median ms | p95 ms |")
        print("|---|---|---|---|---|")
        made = 0
        for size in SIZES:
            make_open_findings(radiologist, referrers, made, size)
            made = size
            for label, user, url in [
                ("radiologist worklist", radiologist, "/worklist/"),
                ("governance open findings", governance, "/findings/"),
            ]:
                client = Client()
                client.force_login(user)
                rows, queries, median, p95 = measure(client, url)
                print(f"| {label} | {rows} | {queries} | {median:.0f} | {p95:.0f} |")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
