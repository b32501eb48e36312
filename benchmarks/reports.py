"""Governance pages under volume: server time, hand-written SQL time, query count per page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_governance_bench \
        .venv/bin/python benchmarks/reports.py --sizes 10000 100000 1000000

For each size N it tops the database up to N synthetic findings (generate_volume, new seed per
step), then for the overdue dashboard and the 12-month compliance report measures:
- server time: the whole Django request (middleware, queries, template) through the test client,
  in process, 20 requests after 2 warm-up requests; p50 and p95;
- the hand-written SQL producing the same numbers, run the same way (20 runs after 2 warm-ups),
  each run right after a page request (page, SQL, page, SQL, ...) so both see the same load;
- the number of SQL queries the page runs.
It checks that the hand-written SQL gives the same numbers as the page before timing anything.
PostgreSQL only (percentile_cont).
"""

import argparse
import os
import sys
import time
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import close_old_connections, connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from tracker import clock  # noqa: E402
from tracker.governance.dashboard import overdue_sections  # noqa: E402
from tracker.governance.filters import (  # noqa: E402
    Period,
    ReportFilter,  # noqa: E402
    local_midnight,
    local_today,
    period_dates,
)
from tracker.governance.report import (  # noqa: E402
    REPORT_SETTINGS_SQL,
    bucket_dates,
    report_of,
)
from tracker.models import Finding, Role, User  # noqa: E402

VOIDED = "('cancelled', 'entered_in_error')"
ON_TIME = "contact_due_at IS NOT NULL AND communicated_at <= contact_due_at"
BREACHED = (
    "communicated_at > contact_due_at OR (communicated_at IS NULL AND contact_due_at < %(now)s)"
)
RANGE = f"flagged_at >= %(start)s AND flagged_at < %(end)s AND status NOT IN {VOIDED}"


CONTACTED = "contact_due_at IS NOT NULL AND communicated_at IS NOT NULL"
# Seconds between two timestamps as double precision, exactly EXTRACT(EPOCH ...)::float8 but
# without numeric arithmetic (see tracker/governance/expressions.py, Seconds).
SECONDS = "(round(date_part('epoch', {end} - {start}) * 1000000) / 1000000)"
# The same two statements the page runs, written by hand: every count in one grouped scan
# (month bucket by width_bucket over the local month starts, department id, breach reason code),
# then both percentiles of both times in one scan of the contacted findings.
REPORT_SQL = [
    f"""SELECT width_bucket(f.flagged_at, %(month_starts)s::timestamptz[]) + 1,
        u.department_id,
        CASE WHEN {BREACHED} THEN
          CASE WHEN communicated_at IS NULL THEN 0
               WHEN breach_reason = 'referrer_unreachable' THEN 2
               WHEN breach_reason = 'wrong_contact_details' THEN 3
               WHEN breach_reason = 'radiologist_delay' THEN 4
               WHEN breach_reason = 'system_failure' THEN 5
               WHEN breach_reason = 'other' THEN 6 ELSE 1 END END,
        count(*), count(*) FILTER (WHERE {ON_TIME}), count(*) FILTER (WHERE {CONTACTED}),
        count(*) FILTER (WHERE {CONTACTED} AND acknowledged_at IS NOT NULL)
      FROM tracker_finding f JOIN tracker_user u ON u.id = f.responsible_clinician_id
      WHERE {RANGE} GROUP BY 1, 2, 3""",  # noqa: S608
    f"""SELECT
        percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY
          {SECONDS.format(end="communicated_at", start="flagged_at")}),
        percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY
          {SECONDS.format(end="acknowledged_at", start="communicated_at")})
          FILTER (WHERE acknowledged_at IS NOT NULL)
      FROM tracker_finding WHERE {RANGE} AND {CONTACTED}""",  # noqa: S608
]

DASHBOARD_LIST = """SELECT f.id, f.category, f.flagged_at, f.contact_due_at, e.accession_number,
    fb.last_name, rc.last_name, a.attempted_at, a.channel, a.outcome, x.step, x.status, x.sent_at
  FROM tracker_finding f
  JOIN tracker_exam e ON e.id = f.exam_id
  JOIN tracker_user fb ON fb.id = f.flagged_by_id
  JOIN tracker_user rc ON rc.id = f.responsible_clinician_id
  LEFT JOIN LATERAL (SELECT attempted_at, channel, outcome FROM tracker_communicationattempt
    WHERE finding_id = f.id ORDER BY attempted_at DESC, id DESC LIMIT 1) a ON true
  LEFT JOIN LATERAL (SELECT step, status, sent_at FROM tracker_escalation
    WHERE finding_id = f.id ORDER BY created_at DESC, id DESC LIMIT 1) x ON true
  WHERE {where} ORDER BY {order}, f.id LIMIT 100"""
DASHBOARD_WHERES = [
    ("f.status = 'awaiting_contact' AND f.contact_due_at < %(now)s", "f.contact_due_at"),
    (
        "f.status = 'awaiting_contact' AND f.contact_due_at >= %(now)s"
        " AND f.contact_due_at <= %(soon)s",
        "f.contact_due_at",
    ),
    (
        "f.status = 'communicated' AND f.acknowledgement_due_at < %(now)s",
        "f.acknowledgement_due_at",
    ),
]
DASHBOARD_SQL = [DASHBOARD_LIST.format(where=w, order=o) for w, o in DASHBOARD_WHERES] + [
    f"SELECT count(*) FROM tracker_finding f WHERE {w}"  # noqa: S608
    for w, _o in DASHBOARD_WHERES
]


def percentile(samples, p):
    ordered = sorted(samples)
    h = p * (len(ordered) - 1)
    low = int(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def loadavg():
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def counting(log):
    def wrapper(execute, sql, *rest):
        log.append(sql)
        return execute(sql, *rest)

    return wrapper


def timed(runs, n):
    """p50 and p95 in ms of each of `runs`, after 2 warm-ups each. The runs alternate (page,
    hand SQL, page, ...) so that both see the same load on a shared machine."""
    for _ in range(2):
        for run in runs:
            run()
    samples = [[] for _ in runs]
    for _ in range(n):
        for run, times in zip(runs, samples, strict=True):
            started = time.perf_counter()
            run()
            times.append((time.perf_counter() - started) * 1000)
    return [(percentile(times, 0.5), percentile(times, 0.95)) for times in samples]


def run_sql(statements, params, report_settings=False):
    """The statements; with report_settings in one transaction with the report's local
    settings (JIT off, work_mem), as the report page runs its own (the dashboard's statements
    are far below PostgreSQL's JIT cost threshold and sort nothing large)."""

    def run():
        with (
            transaction.atomic() if report_settings else nullcontext(),
            connection.cursor() as cursor,
        ):
            if report_settings:
                cursor.execute(REPORT_SETTINGS_SQL)
            results = []
            for sql in statements:
                cursor.execute(sql, params)
                results.append(cursor.fetchall())
            return results

    return run


def top_up(target, seed):
    have = Finding.objects.filter(exam__accession_number__startswith="VOL").count()
    if have < target:
        print(f"== generating {target - have:,} findings (seed {seed}) to reach {target:,}")
        started = time.monotonic()
        call_command("generate_volume", findings=target - have, seed=seed, skip_audit_chain=True)
        print(f"   generate_volume took {time.monotonic() - started:.0f} s")
    return Finding.objects.count()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("benchmarks/reports.py needs PostgreSQL (set DATABASE_URL).")
    # Not setup_test_environment(): its instrumented template renderer copies every context
    # for response.context and would inflate the page times. Only the test host is allowed.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # As in production: every signed-in page checks the escalation engine (two indexed reads)
    # for its alarm; the test settings switch that off.
    settings.ESCALATION_HEARTBEAT_ALARM = True
    # As Django's own test framework does: keep one connection across requests, so the timing
    # is the page's work, not a new PostgreSQL connection per request (CONN_MAX_AGE=0 here).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    call_command("migrate", verbosity=0)
    lead, _ = User.objects.get_or_create(
        username="bench-governance", defaults={"role": Role.GOVERNANCE}
    )
    client = Client()
    client.force_login(lead)
    rows = []
    for size in args.sizes:
        total = top_up(size, seed=size)
        now = clock.now()
        first, after = period_dates(Period.YEAR, local_today())
        _grain, months = bucket_dates(first, after)
        params = {
            "month_starts": [local_midnight(start) for start, _end in months[1:]],
            "now": now,
            "soon": now + timedelta(hours=1),
            "start": local_midnight(first),
            "end": local_midnight(after),
        }
        pages = {
            "overdue dashboard": ("/governance/", DASHBOARD_SQL, False),
            "12-month report": ("/governance/report/?period=year", REPORT_SQL, True),
        }
        print(f"   load average before N={total:,}: {loadavg()}")
        for name, (url, statements, report_settings) in pages.items():
            queries = []
            with connection.execute_wrapper(counting(queries)):
                response = client.get(url)
            assert response.status_code == 200, response.status_code
            if name == "12-month report":
                filterset = ReportFilter({"period": "year"}, queryset=Finding.objects.all())
                assert filterset.is_valid()
                summary = report_of(filterset, now).summary
                assert 'data-measure="findings" href' in response.content.decode()
                assert f">{summary.counts['findings']}</a>" in response.content.decode()
                grouped, percentile_rows = run_sql(statements, params, report_settings)()
                contact, ack = percentile_rows[0]
                # Columns: bucket, department, reason (NULL unless breached), findings,
                # on time, contacted, acknowledged; breached = findings with a reason.
                assert summary.counts["findings"] == sum(r[3] for r in grouped)
                assert summary.counts["on_time"] == sum(r[4] for r in grouped)
                assert summary.counts["breached"] == sum(r[3] for r in grouped if r[2] is not None)
                assert summary.counts["contacted"] == sum(r[5] for r in grouped)
                assert summary.counts["acknowledged"] == sum(r[6] for r in grouped)
                assert round(contact[0], 3) == summary.contact_median, (contact, summary)
                assert round(contact[1], 3) == summary.contact_p90, (contact, summary)
                assert round(ack[0], 3) == summary.ack_median, (ack, summary)
                assert round(ack[1], 3) == summary.ack_p90, (ack, summary)
                in_period = summary.counts["findings"]
            else:
                in_period = sum(s.total for s in overdue_sections(lead, now))
            (page_p50, page_p95), (sql_p50, sql_p95) = timed(
                [lambda url=url: client.get(url), run_sql(statements, params, report_settings)],
                args.requests,
            )
            row = (total, name, in_period, len(queries), page_p50, page_p95, sql_p50, sql_p95)
            rows.append(row)
            print(
                f"N={total:>9,}  {name:<18} rows={in_period:>8,}  queries={len(queries):>2}  "
                f"page p50={page_p50:7.1f} ms p95={page_p95:7.1f} ms  "
                f"SQL p50={sql_p50:7.1f} ms p95={sql_p95:7.1f} ms  "
                f"ratio p95={page_p95 / sql_p95:4.2f}"
            )
        print(f"   load average after N={total:,}: {loadavg()}")
    print()
    print(
        "| findings (N) | page | findings counted | queries | page p50 | page p95 | "
        "hand SQL p50 | hand SQL p95 | p95 ratio |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for total, name, in_period, count, p50, p95, s50, s95 in rows:
        print(
            f"| {total:,} | {name} | {in_period:,} | {count} | {p50:.0f} ms | {p95:.0f} ms | "
            f"{s50:.0f} ms | {s95:.0f} ms | {p95 / s95:.2f} |"
        )


if __name__ == "__main__":
    main()
