"""The report's filters (django-filter): a period, then category, modality, department,
radiologist and referrer. Periods are calendar periods in the site's zone (Europe/London)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import django_filters
from django import forms
from django.conf import settings

from .. import clock
from ..models import Category, Department, Modality, Role, User


class Period:
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    CUSTOM = "custom"
    CHOICES = [
        (WEEK, "Week"),
        (MONTH, "Month"),
        (QUARTER, "Quarter"),
        (YEAR, "12 months"),
        (CUSTOM, "Custom dates"),
    ]


def site_zone():
    return ZoneInfo(settings.TIME_ZONE)


def local_today():
    return clock.now().astimezone(site_zone()).date()


def _month_start(d, back=0):
    index = d.year * 12 + d.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def period_dates(period, anchor, date_from=None, date_to=None):
    """First day and the day after the last day (local dates) of the period holding `anchor`.

    week: Monday to Sunday; month: the calendar month; quarter: the calendar quarter;
    year: the 12 calendar months ending with the anchor's month; custom: date_from..date_to.
    """
    if period == Period.WEEK:
        start = anchor - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=7)
    if period == Period.MONTH:
        return _month_start(anchor), _month_start(anchor, back=-1)
    if period == Period.QUARTER:
        start = date(anchor.year, 3 * ((anchor.month - 1) // 3) + 1, 1)
        return start, _month_start(start, back=-3)
    if period == Period.YEAR:
        return _month_start(anchor, back=11), _month_start(anchor, back=-1)
    return date_from, date_to + timedelta(days=1)


def local_midnight(d):
    return datetime.combine(d, time.min, tzinfo=site_zone())


def people_choices(*roles):
    """{role: [(id, display name), ...]} for the roles given, in one query."""
    choices = {role: [] for role in roles}
    for user in User.objects.filter(role__in=roles):
        choices[user.role].append((user.pk, user.display_name))
    return choices


class ReportForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        if cleaned.get("period") == Period.CUSTOM:
            start, end = cleaned.get("date_from"), cleaned.get("date_to")
            if start is None:
                self.add_error("date_from", "Give the first day of the period.")
            if end is None:
                self.add_error("date_to", "Give the last day of the period.")
            if start and end and start > end:
                self.add_error("date_to", "The last day is before the first day.")
        return cleaned


class ReportFilter(django_filters.FilterSet):
    period = django_filters.ChoiceFilter(
        choices=Period.CHOICES, method="by_period", empty_label=None, label="Period"
    )
    anchor = django_filters.DateFilter(
        method="by_period",
        label="Including",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="A day in the period (default: today).",
    )
    date_from = django_filters.DateFilter(
        method="by_period", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        method="by_period", label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    category = django_filters.ChoiceFilter(choices=Category.choices, empty_label="All")
    modality = django_filters.ChoiceFilter(
        field_name="exam__modality", choices=Modality.choices, empty_label="All"
    )
    # ChoiceFilters, choices read in __init__: one query for the departments, one for the
    # radiologists and referrers together (a ModelChoiceFilter counts and then iterates with a
    # server-side cursor: two each).
    department = django_filters.ChoiceFilter(
        field_name="responsible_clinician__department",
        choices=[],
        empty_label="All",
        label="Department (responsible clinician's)",
    )
    radiologist = django_filters.ChoiceFilter(
        field_name="flagged_by",
        choices=[],
        empty_label="All",
        label="Radiologist (flagged by)",
    )
    referrer = django_filters.ChoiceFilter(
        field_name="responsible_clinician",
        choices=[],
        empty_label="All",
        label="Referrer (responsible)",
    )

    class Meta:
        form = ReportForm

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else {}
        if not data.get("period"):
            data["period"] = Period.MONTH
        super().__init__(data, *args, **kwargs)
        self.filters["department"].extra["choices"] = [
            (d.pk, d.name) for d in Department.objects.order_by("name")
        ]
        people = people_choices(Role.RADIOLOGIST, Role.REFERRER)
        self.filters["radiologist"].extra["choices"] = people[Role.RADIOLOGIST]
        self.filters["referrer"].extra["choices"] = people[Role.REFERRER]

    def by_period(self, queryset, name, value):
        return queryset  # applied once, for all four fields, in filter_queryset

    @property
    def dates(self):
        """(first day, day after the last day) in local dates; needs a valid form."""
        data = self.form.cleaned_data
        anchor = data.get("anchor") or local_today()
        return period_dates(data["period"], anchor, data.get("date_from"), data.get("date_to"))

    @property
    def bounds(self):
        """The period as aware datetimes [start, end) at local midnight."""
        first, after = self.dates
        return local_midnight(first), local_midnight(after)

    def filter_queryset(self, queryset):
        start, end = self.bounds
        queryset = queryset.filter(flagged_at__gte=start, flagged_at__lt=end)
        return super().filter_queryset(queryset)
