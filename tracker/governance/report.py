"""The compliance report, computed in the database.

Definitions (shown on the report page too):
- population: findings flagged in the period, matching the filters, not cancelled or entered in
  error;
- assessable: with a contact deadline (critical, significant) that was met or has passed;
- contacted within deadline: communicated (read back) at or before the contact deadline;
- breached: communicated after the deadline, or not communicated with the deadline gone
  (the same rule as FindingQuerySet.breached);
- time to contact: flagged -> communicated; time to acknowledgement: communicated ->
  acknowledged; both over findings with a contact deadline.

Percentiles are the continuous percentile with linear interpolation between the closest ranks
(PostgreSQL `percentile_cont`; Hyndman & Fan type 7, Excel PERCENTILE.INC, numpy "linear"):
for n sorted values v[0..n-1], position h = p * (n - 1), value = v[floor h] + (h - floor h) *
(v[floor h + 1] - v[floor h]). PostgreSQL computes it in the aggregate query (one sort for
both fractions); SQLite has no percentile aggregate, so it reads the one or two values
around h with an ordered LIMIT 2 OFFSET floor(h) query and interpolates the same way.
Seconds are rounded to the millisecond on both, so both databases give identical numbers.
"""

import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, Q, Value, When

from ..models import BreachReason
from ..models.findings import VOIDED_STATUSES, breached_condition, on_time_condition
from .expressions import Percentiles, WidthBucket
from .filters import local_midnight

PERCENTILES = (0.5, 0.9)
OPEN_BREACH = "open"  # breached and still not communicated: no reason can be recorded yet


def time_to_contact():
    """Seconds flagged -> communicated: stored on the finding (Finding.seconds_to_contact, the
    database computes it from the two timestamps with expressions.Seconds)."""
    return F("seconds_to_contact")


def time_to_acknowledgement():
    """Seconds communicated -> acknowledged (Finding.seconds_to_acknowledgement)."""
    return F("seconds_to_acknowledgement")


def measures(now):
    """Each counted thing as a condition: the report counts it, the drill-down lists it."""
    has_deadline = Q(contact_due_at__isnull=False)
    on_time = has_deadline & on_time_condition()
    breached = breached_condition(now)
    return {
        "findings": Q(),
        "assessable": on_time | breached,
        "on_time": on_time,
        "breached": breached,
        "contacted": has_deadline & Q(communicated_at__isnull=False),
        "acknowledged": has_deadline
        & Q(communicated_at__isnull=False, acknowledged_at__isnull=False),
    }


MEASURE_LABELS = {
    "findings": "Findings",
    "assessable": "With a deadline met or passed",
    "on_time": "Contacted within deadline",
    "breached": "Breaches",
    "contacted": "Contacted (with a deadline)",
    "acknowledged": "Acknowledged (with a deadline)",
}


def reason_labels():
    labels = dict(BreachReason.choices)
    labels[OPEN_BREACH] = "Not yet communicated"
    labels[""] = "No reason recorded"
    return labels


def breach_reason_expression():
    return Case(
        When(communicated_at__isnull=True, then=Value(OPEN_BREACH)), default=F("breach_reason")
    )


def measure_condition(key, now):
    """The condition for a drill-down key: a measure, or `reason:<code>` for a breach reason."""
    all_measures = measures(now)
    if key in all_measures:
        return all_measures[key]
    if key.startswith("reason:"):
        code = key.removeprefix("reason:")
        if code not in reason_labels():
            return None
        if code == OPEN_BREACH:
            return all_measures["breached"] & Q(communicated_at__isnull=True)
        return all_measures["breached"] & Q(communicated_at__isnull=False) & Q(breach_reason=code)
    return None


def measure_label(key):
    if key.startswith("reason:"):
        return "Breaches: " + reason_labels().get(key.removeprefix("reason:"), key)
    return MEASURE_LABELS.get(key, key)


def population(queryset):
    return queryset.exclude(status__in=VOIDED_STATUSES)


def percent(part, whole):
    if not whole:
        return None
    return round(100 * part / whole, 1)


def _seconds(value):
    return None if value is None else round(float(value), 3)


def _percentiles_by_offset(queryset, expression, n):
    """SQLite: the values at ranks floor(h) and floor(h) + 1 by an ordered offset query."""
    values = (
        queryset.annotate(_v=expression)
        .filter(_v__isnull=False)
        .order_by("_v")
        .values_list("_v", flat=True)
    )
    result = {}
    for p in PERCENTILES:
        if not n:
            result[p] = None
            continue
        h = p * (n - 1)
        low = math.floor(h)
        pair = [_seconds(v) for v in values[low : low + 2]]
        value = pair[0] if len(pair) == 1 else pair[0] + (h - low) * (pair[1] - pair[0])
        result[p] = _seconds(value)
    return result


@dataclass
class Summary:
    counts: dict
    contact: dict  # {0.5: seconds, 0.9: seconds}
    acknowledgement: dict

    @property
    def on_time_percent(self):
        return percent(self.counts["on_time"], self.counts["assessable"])

    @property
    def contact_median(self):
        return self.contact[0.5]

    @property
    def contact_p90(self):
        return self.contact[0.9]

    @property
    def ack_median(self):
        return self.acknowledgement[0.5]

    @property
    def ack_p90(self):
        return self.acknowledgement[0.9]


def percentiles(queryset, now, counts):
    """Median and p90 of time to contact and to acknowledgement: one query on PostgreSQL
    (one sort per measure), ordered offset queries elsewhere."""
    m = measures(now)
    if connection.vendor == "postgresql":
        # Acknowledged findings are a subset of the contacted ones: one index-only scan of the
        # contacted (finding_contact_times_idx holds both stored times). The acknowledgement
        # time is NULL until acknowledged and percentile_cont skips NULLs, so it needs no
        # FILTER (which would read acknowledged_at, a column that index does not hold).
        row = queryset.filter(m["contacted"]).aggregate(
            contact=Percentiles(time_to_contact(), PERCENTILES),
            ack=Percentiles(time_to_acknowledgement(), PERCENTILES),
        )
        none = [None] * len(PERCENTILES)
        return (
            dict(zip(PERCENTILES, [_seconds(v) for v in row["contact"] or none], strict=True)),
            dict(zip(PERCENTILES, [_seconds(v) for v in row["ack"] or none], strict=True)),
        )
    contact = _percentiles_by_offset(
        queryset.filter(m["contacted"]), time_to_contact(), counts["contacted"]
    )
    ack = _percentiles_by_offset(
        queryset.filter(m["acknowledged"]), time_to_acknowledgement(), counts["acknowledged"]
    )
    return contact, ack


@dataclass(kw_only=True)
class Counts:
    """The counts of one slice of the report (a trend bucket, a department, a radiologist)."""

    findings: int = 0
    assessable: int = 0
    on_time: int = 0
    breached: int = 0
    links: dict = field(default_factory=dict)

    @property
    def on_time_percent(self):
        return percent(self.on_time, self.assessable)

    @classmethod
    def of(cls, row, **extra):
        return cls(**{k: row.get(k, 0) for k in COUNTED}, **extra)


COUNTED = ("findings", "assessable", "on_time", "breached")


@dataclass(kw_only=True)
class Bucket(Counts):
    start: object  # local date
    end: object  # local date, exclusive


def trend_grain(first_day, after_last_day):
    return "week" if (after_last_day - first_day) <= timedelta(days=92) else "month"


def bucket_dates(first_day, after_last_day):
    """The trend's buckets as (first day, day after) local dates: weeks (Monday to Sunday) for
    periods up to a quarter, calendar months for longer ones, clamped to the period."""
    grain = trend_grain(first_day, after_last_day)
    start = first_day - timedelta(days=first_day.weekday())
    if grain == "month":
        start = first_day.replace(day=1)
    dates = []
    while start < after_last_day:
        if grain == "week":
            end = start + timedelta(days=7)
        else:
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        dates.append((max(start, first_day), min(end, after_last_day)))
        start = end
    return grain, dates


def bucket_index(dates):
    """1 for the first bucket, 2 for the second... from flagged_at, in the database."""
    starts = [local_midnight(start) for start, _end in dates[1:]]
    if connection.vendor == "postgresql":
        return WidthBucket("flagged_at", starts) + 1 if starts else Value(1)
    whens = [When(flagged_at__lt=start, then=Value(i)) for i, start in enumerate(starts, 1)]
    return Case(*whens, default=Value(len(dates)), output_field=IntegerField())


# The breakdown's group key: an id, named afterwards from the filter's choice list, so that the
# grouped query sorts or hashes small integers only.
BREAKDOWNS = {
    "department": "responsible_clinician__department",
    "radiologist": "flagged_by",
}
# Breach reasons as small integers in the grouped query (index into this list).
REASON_CODES = [OPEN_BREACH, "", *BreachReason.values]


@dataclass(kw_only=True)
class Group(Counts):
    key: object
    label: str


# Counted with a condition in the grouped query; the other two follow from the group key:
# a group with a breach reason is all breaches, and assessable = on time + breached (a finding
# contacted within its deadline is never a breach).
COUNTED_IN_SQL = ("findings", "on_time", "contacted", "acknowledged")


def _slices(queryset, now, dates, by):
    """The one grouped query: counts per (trend bucket, breakdown group, breach reason)."""
    m = measures(now)
    reason = Case(
        When(
            m["breached"],
            then=Case(
                When(communicated_at__isnull=True, then=Value(0)),
                *[
                    When(breach_reason=code, then=Value(i))
                    for i, code in enumerate(REASON_CODES)
                    if i > 1
                ],
                default=Value(1),
            ),
        ),
        default=Value(None),
        output_field=IntegerField(),
    )
    rows = (
        queryset.annotate(bucket=bucket_index(dates), reason=reason)
        .values("bucket", "reason", BREAKDOWNS[by])
        .annotate(**{name: Count("flagged_at", filter=m[name]) for name in COUNTED_IN_SQL})
        .order_by()
    )
    for row in rows:
        row["breached"] = 0 if row["reason"] is None else row["findings"]
        row["assessable"] = row["on_time"] + row["breached"]
        yield row


@dataclass
class Report:
    summary: Summary
    reasons: list
    grain: str
    buckets: list
    breakdown_by: str
    groups: list


# PostgreSQL settings for the report's transaction only (docs/benchmarks.md, issue 5):
# - JIT off: PostgreSQL compiles the grouped query with LLVM when it expects a few hundred
#   thousand rows, which cost ~200 ms per report at a million findings and never paid back;
# - work_mem: the percentile sorts of a 12-month report fit the default 4 MB, but a longer
#   custom period sorted on disk (all 3.9 years at a million findings: 375 ms -> 286 ms).
# - plan_cache_mode: with server-side binding a statement run five times on a connection is
#   prepared, and PostgreSQL may then plan it once for any period; the report's plan depends on
#   the period's size (measured at 1M: p95 502 ms generic vs 259 ms planned per request).
REPORT_SETTINGS = {"jit": "off", "work_mem": "32MB", "plan_cache_mode": "force_custom_plan"}
REPORT_SETTINGS_SQL = "SELECT " + ", ".join(
    f"set_config('{name}', '{value}', true)" for name, value in REPORT_SETTINGS.items()
)


@contextmanager
def report_transaction():
    """The report's queries in one transaction, on PostgreSQL with REPORT_SETTINGS set local
    to it (one statement; they end with the outermost transaction, so later requests on the
    same connection do not see them)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(REPORT_SETTINGS_SQL)
        yield


def _totals(rows):
    return {name: sum(row[name] for row in rows) for name in MEASURE_LABELS}


def compliance_report(
    queryset, now, first_day, after_last_day, breakdown_by="department", labels=None
):
    """Two queries on PostgreSQL whatever the number of findings (after REPORT_SETTINGS):
    the grouped counts (one scan, summed here into the summary, the trend, the breakdown and the
    reasons) and the percentiles."""
    queryset = population(queryset)
    grain, dates = bucket_dates(first_day, after_last_day)
    key = BREAKDOWNS[breakdown_by]
    labels = labels or {}
    with report_transaction():
        rows = list(_slices(queryset, now, dates, breakdown_by))
        totals = _totals(rows)
        contact, ack = percentiles(queryset, now, totals)
    per_bucket = [dict.fromkeys(COUNTED, 0) for _ in dates]
    per_group, reasons = {}, {}
    for row in rows:
        bucket = per_bucket[row["bucket"] - 1]
        group = per_group.setdefault(row[key], dict.fromkeys(COUNTED, 0))
        for name in COUNTED:
            bucket[name] += row[name]
            group[name] += row[name]
        if row["reason"] is not None:
            code = REASON_CODES[row["reason"]]
            reasons[code] = reasons.get(code, 0) + row["breached"]
    default_label = "No department" if breakdown_by == "department" else "Unknown"
    groups = [
        Group.of(counts, key=k, label=labels.get(k) or default_label)
        for k, counts in per_group.items()
    ]
    groups.sort(key=lambda g: (-g.findings, g.label))
    reason_names = reason_labels()
    return Report(
        summary=Summary(counts=totals, contact=contact, acknowledgement=ack),
        reasons=[
            (code, reason_names.get(code, code), n)
            for code, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        ],
        grain=grain,
        buckets=[
            Bucket.of(counts, start=start, end=end)
            for counts, (start, end) in zip(per_bucket, dates, strict=True)
        ],
        breakdown_by=breakdown_by,
        groups=groups,
    )


def drill_down(queryset, now, key):
    """The findings behind one number of the report (None if the key is unknown)."""
    condition = measure_condition(key, now)
    if condition is None:
        return None
    return (
        population(queryset)
        .filter(condition)
        .select_related("exam", "flagged_by", "responsible_clinician__department")
        .order_by("flagged_at", "pk")
    )


def report_of(filterset, now, breakdown_by="department"):
    first_day, after_last_day = filterset.dates
    # The filter form has just read the names of departments and radiologists: reuse them.
    labels = dict(filterset.filters[breakdown_by].extra["choices"])
    return compliance_report(
        filterset.qs, now, first_day, after_last_day, breakdown_by, labels=labels
    )
