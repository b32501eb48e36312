"""Governance pages. Thin: access check, filters, a selector, a template (or CSV)."""

from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from .. import access, clock
from ..access import visible_findings
from ..models import Finding, ReviewOutcome
from ..services.governance import breach_review_record
from .charts import breakdown_chart, trend_chart
from .dashboard import overdue_sections
from .exports import findings_csv, report_csv
from .filters import ReportFilter
from .report import BREAKDOWNS, drill_down, measure_label, population, report_of

PAGE_SIZE = 50
LINK_IGNORES = ("format", "page", "measure", "review")


def governance_only(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not access.can_view_governance(request.user):
            raise PermissionDenied("Governance pages are for governance leads.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _params(request, **overrides):
    params = request.GET.copy()
    for key in LINK_IGNORES:
        params.pop(key, None)
    params.setdefault("period", "month")
    for key, value in overrides.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return params


def _href(name, params):
    return f"{reverse(name)}?{params.urlencode()}"


def _period_text(filterset):
    first, after = filterset.dates
    last = after - timedelta(days=1)
    return f"{first:%d/%m/%Y} to {last:%d/%m/%Y} ({settings.TIME_ZONE})"


class _Links:
    """Links to `name` with the page's filters and a few parameters changed: the same URLs as
    _href(name, _params(request, **overrides)), with one reverse() and one copy of the query
    string per page instead of per link (a 12-month report has about 90 links)."""

    def __init__(self, request, name):
        self.path = reverse(name)
        self.base = dict(_params(request).lists())

    def __call__(self, **overrides):
        params = dict(self.base)
        for key, value in overrides.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = [str(value)]
        return f"{self.path}?{urlencode(params, doseq=True)}"


def _attach_links(request, rep):
    """Every number on the report links to the findings behind it."""
    drill = _Links(request, "governance:report_findings")
    rep.links = {
        key: drill(measure=key)
        for key in ("findings", "assessable", "on_time", "breached", "contacted", "acknowledged")
    }
    rep.reason_links = [
        (code, label, n, drill(measure=f"reason:{code}")) for code, label, n in rep.reasons
    ]
    for b in rep.buckets:
        period = {
            "period": "custom",
            "anchor": None,
            "date_from": b.start.isoformat(),
            "date_to": (b.end - timedelta(days=1)).isoformat(),
        }
        b.links = {key: drill(measure=key, **period) for key in ("findings", "on_time", "breached")}
    filter_name = rep.breakdown_by
    for g in rep.groups:
        if g.key is None:
            continue
        g.links = {
            key: drill(measure=key, **{filter_name: g.key})
            for key in ("findings", "assessable", "on_time", "breached")
        }


def _filterset(request):
    return ReportFilter(request.GET, queryset=visible_findings(request.user, Finding.objects))


@governance_only
def dashboard(request):
    now = clock.now()
    context = {"sections": overdue_sections(request.user, now), "now": now}
    if request.htmx:
        response = render(request, "governance/_dashboard_sections.html", context)
    else:
        response = render(request, "governance/dashboard.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@governance_only
def report(request):
    filterset = _filterset(request)
    breakdown_by = request.GET.get("by", "department")
    if breakdown_by not in BREAKDOWNS:
        breakdown_by = "department"
    context = {"filter": filterset, "breakdown_by": breakdown_by}
    if not filterset.is_valid():
        return render(request, "governance/report.html", context, status=400)
    now = clock.now()
    rep = report_of(filterset, now, breakdown_by)
    _attach_links(request, rep)
    period_text = _period_text(filterset)
    if request.GET.get("format") == "csv":
        first, _after = filterset.dates
        return report_csv(rep, period_text, f"compliance-report-{first:%Y-%m-%d}.csv")
    label_format = "%d %b" if rep.grain == "week" else "%b %Y"
    context.update(
        report=rep,
        now=now,
        period_text=period_text,
        trend_chart=trend_chart(rep.buckets, label_format),
        breakdown_chart=breakdown_chart(rep.groups),
        csv_href=_href("governance:report", _params(request, format="csv")),
        by_links={by: _href("governance:report", _params(request, by=by)) for by in BREAKDOWNS},
    )
    return render(request, "governance/report.html", context)


@governance_only
def report_findings(request):
    """The drill-down: the findings behind one number of the report."""
    filterset = _filterset(request)
    measure = request.GET.get("measure", "findings")
    if not filterset.is_valid():
        return render(request, "governance/findings.html", {"filter": filterset}, status=400)
    queryset = drill_down(filterset.qs, clock.now(), measure)
    if queryset is None:
        return render(
            request,
            "governance/findings.html",
            {"filter": filterset, "measure_error": f"Unknown measure '{measure}'."},
            status=400,
        )
    if request.GET.get("format") == "csv":
        first, _after = filterset.dates
        return findings_csv(queryset, f"findings-{measure.replace(':', '-')}-{first:%Y-%m-%d}.csv")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter": filterset,
        "page": page,
        "measure_label": measure_label(measure),
        "period_text": _period_text(filterset),
        "csv_href": _href(
            "governance:report_findings", _params(request, measure=measure, format="csv")
        ),
        "report_href": _href("governance:report", _params(request)),
        "page_params": _params(request, measure=measure, page=None).urlencode(),
    }
    return render(request, "governance/findings.html", context)


REVIEW_FILTERS = {
    "unreviewed": {"breach_review__isnull": True},
    "reviewed": {"breach_review__isnull": False},
    "all": {},
}


@governance_only
def breaches(request):
    filterset = _filterset(request)
    review = request.GET.get("review", "unreviewed")
    if review not in REVIEW_FILTERS:
        review = "unreviewed"
    if not filterset.is_valid():
        return render(request, "governance/breaches.html", {"filter": filterset}, status=400)
    queryset = (
        population(filterset.qs)
        .breached(clock.now())
        .filter(**REVIEW_FILTERS[review])
        .select_related("exam", "flagged_by", "responsible_clinician", "breach_review")
        .order_by("-flagged_at", "-pk")
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter": filterset,
        "page": page,
        "review": review,
        "review_links": {
            key: "?" + _params(request, review=key).urlencode() for key in REVIEW_FILTERS
        },
        "page_params": _params(request, review=review, page=None).urlencode(),
        "period_text": _period_text(filterset),
    }
    return render(request, "governance/breaches.html", context)


class BreachReviewForm(forms.Form):
    outcome = forms.ChoiceField(choices=ReviewOutcome.choices, widget=forms.RadioSelect)
    learning = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    incident_reference = forms.CharField(max_length=60, required=False)


@governance_only
def breach_review(request, pk):
    breached = population(visible_findings(request.user, Finding.objects)).breached(clock.now())
    finding = get_object_or_404(
        breached.select_related("exam", "flagged_by", "responsible_clinician"), pk=pk
    )
    review = getattr(finding, "breach_review", None)
    if request.method == "POST":
        form = BreachReviewForm(request.POST)
        if form.is_valid():
            try:
                breach_review_record(actor=request.user, finding=finding, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect(reverse("governance:breaches") + "?" + _params(request).urlencode())
    else:
        initial = (
            {
                "outcome": review.outcome,
                "learning": review.learning,
                "incident_reference": review.incident_reference,
            }
            if review
            else {}
        )
        form = BreachReviewForm(initial=initial)
    history = review.history.select_related("history_user").all() if review else []
    return render(
        request,
        "governance/breach_review.html",
        {"finding": finding, "form": form, "review": review, "history": history},
        status=400 if form.errors else 200,
    )
