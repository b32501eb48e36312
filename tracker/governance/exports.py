"""CSV exports: the report (the same strings as on screen) and a drill-down list."""

import csv

from django.http import HttpResponse, StreamingHttpResponse

from ..templatetags.governance_tags import local_stamp, minutes, pct

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """Text a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _minutes_value(seconds):
    return minutes(seconds).removesuffix(" min")


def report_rows(report, period_text):
    s = report.summary
    yield ["section", "item", "value", "unit"]
    yield ["period", "period", period_text, ""]
    yield ["summary", "Findings", s.counts["findings"], "findings"]
    yield ["summary", "Assessable (deadline met or passed)", s.counts["assessable"], "findings"]
    yield ["summary", "Contacted within deadline", s.counts["on_time"], "findings"]
    yield ["summary", "Contacted within deadline %", pct(s.on_time_percent), "percent"]
    yield ["summary", "Breaches", s.counts["breached"], "findings"]
    yield ["summary", "Time to contact, median", _minutes_value(s.contact[0.5]), "minutes"]
    yield ["summary", "Time to contact, 90th percentile", _minutes_value(s.contact[0.9]), "minutes"]
    yield [
        "summary",
        "Time to acknowledgement, median",
        _minutes_value(s.acknowledgement[0.5]),
        "minutes",
    ]
    yield [
        "summary",
        "Time to acknowledgement, 90th percentile",
        _minutes_value(s.acknowledgement[0.9]),
        "minutes",
    ]
    for _code, label, n in report.reasons:
        yield ["breaches by reason", label, n, "findings"]
    for b in report.buckets:
        label = b.start.isoformat()
        yield [f"trend ({report.grain})", f"{label} findings", b.findings, "findings"]
        yield [
            f"trend ({report.grain})",
            f"{label} within deadline %",
            pct(b.on_time_percent),
            "percent",
        ]
    for g in report.groups:
        yield [f"by {report.breakdown_by}", f"{g.label} findings", g.findings, "findings"]
        yield [
            f"by {report.breakdown_by}",
            f"{g.label} within deadline %",
            pct(g.on_time_percent),
            "percent",
        ]


def report_csv(report, period_text, filename):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    for row in report_rows(report, period_text):
        writer.writerow([cell(v) for v in row])
    return response


FINDING_COLUMNS = [
    "finding",
    "accession",
    "flagged at",
    "category",
    "modality",
    "radiologist",
    "responsible clinician",
    "department",
    "contact due",
    "communicated at",
    "minutes to contact",
    "acknowledged at",
    "minutes to acknowledgement",
    "status",
    "breach reason",
]


def finding_row(f):
    department = f.responsible_clinician.department
    return [
        f.pk,
        f.exam.accession_number,
        local_stamp(f.flagged_at),
        f.get_category_display(),
        f.exam.get_modality_display(),
        f.flagged_by.display_name,
        f.responsible_clinician.display_name,
        department.name if department else "",
        local_stamp(f.contact_due_at) if f.contact_due_at else "",
        local_stamp(f.communicated_at) if f.communicated_at else "",
        _minutes_value(f.seconds_to_contact) if f.seconds_to_contact is not None else "",
        local_stamp(f.acknowledged_at) if f.acknowledged_at else "",
        _minutes_value(f.seconds_to_acknowledgement)
        if f.seconds_to_acknowledgement is not None
        else "",
        f.get_status_display(),
        f.get_breach_reason_display(),
    ]


class _Echo:
    def write(self, value):
        return value


def findings_csv(queryset, filename):
    """Streamed, so a year of findings does not sit in memory."""
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(FINDING_COLUMNS)
        for f in queryset.iterator(chunk_size=2000):
            yield writer.writerow([cell(v) for v in finding_row(f)])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
