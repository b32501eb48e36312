"""The compliance report against numbers worked out by hand on the known data set
(tests/governance/conftest.py). Same expectations on SQLite and PostgreSQL."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import T0
from tracker.governance.filters import ReportFilter
from tracker.governance.report import report_of
from tracker.models import Finding

pytestmark = pytest.mark.django_db

NOVEMBER = {"period": "month", "anchor": "2026-11-23"}


def report_for(params, user):
    from tracker import clock

    filterset = ReportFilter(params, queryset=Finding.objects.all())
    assert filterset.is_valid(), filterset.errors
    return report_of(filterset, clock.now())


def minutes(n):
    return float(n * 60)


def test_it_counts_the_month_as_worked_out_by_hand(known_findings, governance):
    rep = report_for(NOVEMBER, governance)
    s = rep.summary
    # A..I in November, J cancelled, K in October.
    assert s.counts == {
        "findings": 9,
        "assessable": 7,  # A B C F on time, D E G breached; H not yet due; I no deadline
        "on_time": 4,
        "breached": 3,
        "contacted": 6,
        "acknowledged": 5,
    }
    assert s.on_time_percent == 57.1  # 4 / 7
    # Contact minutes sorted 20 40 60 90 120 150: median at rank 2.5 -> (60 + 90) / 2 = 75;
    # p90 at rank 0.9 * 5 = 4.5 -> 120 + 0.5 * 30 = 135.
    assert s.contact_median == minutes(75)
    assert s.contact_p90 == minutes(135)
    # Acknowledgement minutes 10 20 30 60 240: median 30; p90 at 3.6 -> 60 + 0.6 * 180 = 168.
    assert s.ack_median == minutes(30)
    assert s.ack_p90 == minutes(168)
    assert rep.reasons == [
        ("open", "Not yet communicated", 1),
        ("radiologist_delay", "Radiologist delay", 1),
        ("referrer_unreachable", "Referrer unreachable", 1),
    ]


def test_it_filters_by_category(known_findings, governance):
    s = report_for({**NOVEMBER, "category": "critical"}, governance).summary
    assert (s.counts["findings"], s.counts["assessable"], s.counts["on_time"]) == (6, 5, 3)
    assert s.counts["breached"] == 2
    assert s.on_time_percent == 60.0
    # 20 40 60 90 150: median 60; p90 at 3.6 -> 90 + 0.6 * 60 = 126.
    assert (s.contact_median, s.contact_p90) == (minutes(60), minutes(126))
    # 10 20 30 60: median at 1.5 -> 25; p90 at 2.7 -> 30 + 0.7 * 30 = 51.
    assert (s.ack_median, s.ack_p90) == (minutes(25), minutes(51))


def test_it_filters_by_modality_and_by_radiologist_alike(known_findings, governance, people):
    by_modality = report_for({**NOVEMBER, "modality": "MR"}, governance)
    by_radiologist = report_for({**NOVEMBER, "radiologist": people["radiologist2"].pk}, governance)
    for rep in (by_modality, by_radiologist):
        s = rep.summary
        assert (s.counts["findings"], s.counts["on_time"], s.counts["breached"]) == (2, 0, 2)
        assert s.on_time_percent == 0.0
        # 90 150: median 120; p90 at 0.9 -> 90 + 0.9 * 60 = 144. One acknowledgement: 20.
        assert (s.contact_median, s.contact_p90) == (minutes(120), minutes(144))
        assert (s.ack_median, s.ack_p90) == (minutes(20), minutes(20))
        assert [(code, n) for code, _label, n in rep.reasons] == [
            ("radiologist_delay", 1),
            ("referrer_unreachable", 1),
        ]


def test_it_filters_by_department_and_by_referrer_alike(known_findings, governance, people):
    for params in ({"department": people["medicine"].pk}, {"referrer": people["referrer2"].pk}):
        s = report_for({**NOVEMBER, **params}, governance).summary
        assert (s.counts["findings"], s.counts["on_time"], s.counts["breached"]) == (1, 1, 0)
        assert s.on_time_percent == 100.0
        assert (s.contact_median, s.contact_p90) == (minutes(120), minutes(120))
        assert (s.ack_median, s.ack_p90) == (minutes(240), minutes(240))
        assert report_for({**NOVEMBER, **params}, governance).reasons == []


def test_a_week_a_custom_range_and_twelve_months_cover_their_days(known_findings, governance):
    week = report_for({"period": "week", "anchor": "2026-11-04"}, governance).summary
    assert (week.counts["findings"], week.counts["on_time"], week.counts["breached"]) == (5, 3, 1)
    assert week.on_time_percent == 75.0
    custom = report_for(
        {"period": "custom", "date_from": "2026-10-30", "date_to": "2026-11-02"}, governance
    )
    assert custom.summary.counts["findings"] == 2  # K and A
    year = report_for({"period": "year", "anchor": "2026-11-23"}, governance)
    assert year.summary.counts["findings"] == 10
    assert year.grain == "month"
    assert len(year.buckets) == 12
    assert [b.findings for b in year.buckets][-2:] == [1, 9]


def test_the_trend_has_every_week_of_the_month_and_adds_up(known_findings, governance):
    rep = report_for(NOVEMBER, governance)
    assert rep.grain == "week"
    assert [(b.start.isoformat(), b.findings) for b in rep.buckets] == [
        ("2026-11-01", 0),
        ("2026-11-02", 5),
        ("2026-11-09", 2),
        ("2026-11-16", 1),
        ("2026-11-23", 1),
        ("2026-11-30", 0),
    ]
    assert sum(b.on_time for b in rep.buckets) == rep.summary.counts["on_time"]


def test_the_breakdown_by_department_and_radiologist_adds_up(known_findings, governance):
    rep = report_for(NOVEMBER, governance)
    assert [(g.label, g.findings, g.on_time, g.breached) for g in rep.groups] == [
        ("Surgery", 8, 3, 3),
        ("Medicine", 1, 1, 0),
    ]
    from tracker import clock

    filterset = ReportFilter(NOVEMBER, queryset=Finding.objects.all())
    assert filterset.is_valid()
    by_radiologist = report_of(filterset, clock.now(), "radiologist")
    assert [(g.label, g.findings) for g in by_radiologist.groups] == [
        ("Dr Bea Jones", 7),
        ("Dr Cal Okafor", 2),
    ]


def page_numbers(html):
    return dict(re.findall(r'data-measure="(\w+)" href="[^"]*">([^<]+)</a>', html))


def test_the_page_shows_the_numbers_and_every_number_links_to_its_findings(
    client, known_findings, governance
):
    client.force_login(governance)
    response = client.get(reverse("governance:report"), NOVEMBER)
    assert response.status_code == 200
    shown = page_numbers(response.content.decode())
    assert shown["findings"] == "9"
    assert shown["on_time_percent"] == "57.1%"
    assert shown["on_time"] == "4"
    assert shown["assessable"] == "7"
    assert shown["breached"] == "3"
    assert shown["contact_median"] == "75.0 min"
    assert shown["contact_p90"] == "135.0 min"
    assert shown["ack_median"] == "30.0 min"
    assert shown["ack_p90"] == "168.0 min"
    rep = response.context["report"]
    for key in ("findings", "assessable", "on_time", "breached", "contacted", "acknowledged"):
        listed = client.get(rep.links[key])
        assert listed.status_code == 200
        assert listed.context["page"].paginator.count == rep.summary.counts[key], key
    for _code, _label, n, href in rep.reason_links:
        assert client.get(href).context["page"].paginator.count == n


def test_a_trend_bar_and_a_breakdown_row_drill_down_to_their_findings(
    client, known_findings, governance
):
    client.force_login(governance)
    rep = client.get(reverse("governance:report"), NOVEMBER).context["report"]
    for bucket in rep.buckets:
        listed = client.get(bucket.links["findings"]).context["page"].paginator.count
        assert listed == bucket.findings
    for group in rep.groups:
        for key in ("findings", "on_time", "breached"):
            listed = client.get(group.links[key]).context["page"].paginator.count
            assert listed == getattr(group, key)


def test_the_drill_down_csv_has_one_row_per_finding_clicked(client, known_findings, governance):
    client.force_login(governance)
    rep = client.get(reverse("governance:report"), NOVEMBER).context["report"]
    response = client.get(rep.links["breached"] + "&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "finding"
    assert len(rows) - 1 == rep.summary.counts["breached"] == 3
    ids = {int(r[0]) for r in rows[1:]}
    assert ids == {known_findings[k].pk for k in ("D", "E", "G")}


def test_the_report_csv_totals_match_the_screen(client, known_findings, governance):
    client.force_login(governance)
    page = client.get(reverse("governance:report"), {**NOVEMBER, "category": "critical"})
    shown = page_numbers(page.content.decode())
    response = client.get(
        reverse("governance:report"), {**NOVEMBER, "category": "critical", "format": "csv"}
    )
    rows = {(r[0], r[1]): r[2] for r in csv.reader(io.StringIO(response.content.decode()))}
    assert rows[("summary", "Findings")] == shown["findings"] == "6"
    assert rows[("summary", "Contacted within deadline %")] == shown["on_time_percent"] == "60.0%"
    assert rows[("summary", "Breaches")] == shown["breached"] == "2"
    assert rows[("summary", "Time to contact, median")] + " min" == shown["contact_median"]
    assert rows[("summary", "Time to contact, 90th percentile")] == "126.0"
    assert rows[("summary", "Time to acknowledgement, 90th percentile")] == "51.0"
    assert rows[("breaches by reason", "Referrer unreachable")] == "1"
    trend_total = sum(
        int(v)
        for (section, item), v in rows.items()
        if section.startswith("trend") and item.endswith(" findings")
    )
    assert trend_total == 6


def test_bad_filter_input_names_the_field(client, known_findings, governance):
    client.force_login(governance)
    response = client.get(
        reverse("governance:report"), {"period": "custom", "date_from": "2026-11-10"}
    )
    assert response.status_code == 400
    assert "Give the last day of the period." in response.content.decode()
    response = client.get(reverse("governance:report_findings"), {**NOVEMBER, "measure": "nope"})
    assert response.status_code == 400


def test_a_finding_just_after_local_midnight_in_summer_time_counts_in_the_local_month(
    clock, flag, governance
):
    from datetime import UTC, datetime

    clock.move_to(datetime(2026, 3, 31, 23, 30, tzinfo=UTC))  # 00:30 BST on 1 April
    flag("routine")
    clock.move_to(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))
    rep = report_for({"period": "year", "anchor": "2026-11-23"}, governance)
    by_month = {b.start.isoformat(): b.findings for b in rep.buckets}
    assert by_month["2026-03-01"] == 0
    assert by_month["2026-04-01"] == 1
    march = report_for({"period": "month", "anchor": "2026-03-15"}, governance)
    assert march.summary.counts["findings"] == 0


def test_the_report_runs_the_same_queries_for_a_month_and_for_twelve_months(
    known_findings, governance
):
    statements = {}
    for period in ("month", "year"):
        filterset = ReportFilter({**NOVEMBER, "period": period}, queryset=Finding.objects.all())
        assert filterset.is_valid(), filterset.errors
        with CaptureQueriesContext(connection) as queries:
            rep = report_of(filterset, T0)
        assert rep.summary.counts["findings"] == {"month": 9, "year": 10}[period]
        # Savepoints only appear because the test itself runs in a transaction.
        statements[period] = [
            q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]
        ]
    assert len(statements["month"]) == len(statements["year"])
    if connection.vendor == "postgresql":
        # The transaction's local settings, the grouped counts, the percentiles.
        assert len(statements["month"]) == 3
        assert "set_config('jit', 'off', true)" in statements["month"][0]


def test_report_links_keep_the_filters_and_change_only_what_they_name(rf):
    from tracker.governance.views import _href, _Links, _params

    request = rf.get(
        "/governance/report/",
        {"period": "custom", "date_from": "2026-01-01", "date_to": "2026-02-01", "page": "3"}
        | {"category": "critical", "measure": "x", "format": "csv", "by": "radiologist"},
    )
    links = _Links(request, "governance:report_findings")
    for overrides in (
        {"measure": "findings"},
        {"measure": "reason:open"},
        {"measure": "on_time", "period": "custom", "anchor": None, "date_to": "2026-01-31"},
        {"measure": "breached", "department": 7},
    ):
        expected = _href("governance:report_findings", _params(request, **overrides))
        assert links(**overrides) == expected
    assert "page=" not in links(measure="findings")
    assert "format=" not in links(measure="findings")
    assert "category=critical" in links(measure="findings")
