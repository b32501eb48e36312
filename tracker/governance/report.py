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
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection
from django.db.models import Case, Count, F, Q, Value, When
from django.db.models.functions import TruncMonth, TruncWeek

from ..models import BreachReason
from ..models.findings import VOIDED_STATUSES
from .expressions import Percentiles, Seconds
from .filters import site_zone

PERCENTILES = (0.5, 0.9)
OPEN_BREACH = "open"  # breached and still not communicated: no reason can be recorded yet


def time_to_contact():
    return Seconds("communicated_at", "flagged_at")


def time_to_acknowledgement():
    return Seconds("acknowledged_at", "communicated_at")


def measures(now):
    """Each counted thing as a condition: the report counts it, the drill-down lists it."""
    has_deadline = Q(contact_due_at__isnull=False)
    on_time = has_deadline & Q(
        communicated_at__isnull=False, communicated_at__lte=F("contact_due_at")
    )
    breached = Q(communicated_at__gt=F("contact_due_at")) | Q(
        communicated_at__isnull=True, contact_due_at__lt=now
    )
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


def summary(queryset, now):
    m = measures(now)
    aggregates = {key: Count("flagged_at", filter=cond) for key, cond in m.items()}
    postgres = connection.vendor == "postgresql"
    if postgres:
        aggregates["contact"] = Percentiles(time_to_contact(), PERCENTILES, filter=m["contacted"])
        aggregates["ack"] = Percentiles(
            time_to_acknowledgement(), PERCENTILES, filter=m["acknowledged"]
        )
    row = queryset.aggregate(**aggregates)
    counts = {key: row[key] for key in m}
    if postgres:
        contact = dict(
            zip(
                PERCENTILES,
                [_seconds(v) for v in row["contact"] or [None] * len(PERCENTILES)],
                strict=True,
            )
        )
        ack = dict(
            zip(
                PERCENTILES,
                [_seconds(v) for v in row["ack"] or [None] * len(PERCENTILES)],
                strict=True,
            )
        )
    else:
        contact = _percentiles_by_offset(
            queryset.filter(m["contacted"]), time_to_contact(), counts["contacted"]
        )
        ack = _percentiles_by_offset(
            queryset.filter(m["acknowledged"]), time_to_acknowledgement(), counts["acknowledged"]
        )
    return Summary(counts=counts, contact=contact, acknowledgement=ack)


def breaches_by_reason(queryset, now):
    """[(reason code, label, count)] for the breaches, largest first."""
    labels = reason_labels()
    rows = (
        queryset.filter(measures(now)["breached"])
        .annotate(reason=breach_reason_expression())
        .values("reason")
        .annotate(n=Count("flagged_at"))
        .order_by("-n", "reason")
    )
    return [(r["reason"], labels.get(r["reason"], r["reason"]), r["n"]) for r in rows]


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


def _grouped_counts(queryset, now, *group_by):
    m = measures(now)
    return queryset.values(*group_by).annotate(
        findings=Count("flagged_at"),
        assessable=Count("flagged_at", filter=m["assessable"]),
        on_time=Count("flagged_at", filter=m["on_time"]),
        breached=Count("flagged_at", filter=m["breached"]),
    )


def trend_grain(first_day, after_last_day):
    return "week" if (after_last_day - first_day) <= timedelta(days=92) else "month"


def trend(queryset, now, first_day, after_last_day):
    """Volume and compliance per week (periods up to a quarter) or per month (longer),
    in the site's zone; every bucket of the period appears, empty ones with zeros."""
    grain = trend_grain(first_day, after_last_day)
    trunc = TruncWeek if grain == "week" else TruncMonth
    rows = _grouped_counts(
        queryset.annotate(bucket=trunc("flagged_at", tzinfo=site_zone())), now, "bucket"
    ).order_by("bucket")
    by_start = {r["bucket"].date(): r for r in rows}
    buckets = []
    start = first_day if grain == "month" else first_day - timedelta(days=first_day.weekday())
    if grain == "month":
        start = start.replace(day=1)
    while start < after_last_day:
        if grain == "week":
            end = start + timedelta(days=7)
        else:
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        buckets.append(
            Bucket.of(
                by_start.get(start, {}), start=max(start, first_day), end=min(end, after_last_day)
            )
        )
        start = end
    return grain, buckets


BREAKDOWNS = {
    "department": (
        "responsible_clinician__department",
        ("responsible_clinician__department__name",),
    ),
    "radiologist": (
        "flagged_by",
        ("flagged_by__title", "flagged_by__first_name", "flagged_by__last_name"),
    ),
}


@dataclass(kw_only=True)
class Group(Counts):
    key: object
    label: str


def breakdown(queryset, now, by):
    key, label_fields = BREAKDOWNS[by]
    rows = _grouped_counts(queryset, now, key, *label_fields).order_by("-findings", key)
    groups = []
    for r in rows:
        label = " ".join(str(r[f]) for f in label_fields if r[f]).strip()
        default = "No department" if by == "department" else "Unknown"
        groups.append(Group.of(r, key=r[key], label=label or default))
    return groups


@dataclass
class Report:
    summary: Summary
    reasons: list
    grain: str
    buckets: list
    breakdown_by: str
    groups: list


def compliance_report(queryset, now, first_day, after_last_day, breakdown_by="department"):
    """Four aggregate queries on PostgreSQL whatever the number of findings."""
    queryset = population(queryset)
    grain, buckets = trend(queryset, now, first_day, after_last_day)
    return Report(
        summary=summary(queryset, now),
        reasons=breaches_by_reason(queryset, now),
        grain=grain,
        buckets=buckets,
        breakdown_by=breakdown_by,
        groups=breakdown(queryset, now, breakdown_by),
    )


def drill_down(queryset, now, key):
    """The findings behind one number of the report (None if the key is unknown)."""
    condition = measure_condition(key, now)
    if condition is None:
        return None
    return (
        population(queryset)
        .filter(condition)
        .annotate(
            seconds_to_contact=time_to_contact(),
            seconds_to_acknowledgement=time_to_acknowledgement(),
        )
        .select_related("exam", "flagged_by", "responsible_clinician__department")
        .order_by("flagged_at", "pk")
    )


def report_of(filterset, now, breakdown_by="department"):
    first_day, after_last_day = filterset.dates
    return compliance_report(filterset.qs, now, first_day, after_last_day, breakdown_by)
