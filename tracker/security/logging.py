"""Keep patient data out of logs and error reports.

- `RedactPatientDataFilter` (on every handler): masks NHS numbers, 10-digit identifiers,
  MRN-style identifiers and dates that may be dates of birth in the message and its arguments,
  and drops the request object that django.request attaches (it carries POST data).
- `PatientSafeExceptionReporterFilter`: error reports never show POST data or local variables.
"""

import logging
import re

from django.views.debug import SafeExceptionReporterFilter

REDACTED = "[redacted]"
PATTERNS = [
    re.compile(r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b"),  # NHS number, 10 digits, optionally spaced
    re.compile(r"\bMRN[-:]?\s*[A-Z0-9]{4,}\b", re.IGNORECASE),  # hospital numbers
    re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)\d{2}\b"),  # dd/mm/yyyy
    re.compile(r"\b(?:19|20)\d{2}-\d{2}-\d{2}\b(?!T)"),  # ISO dates (not timestamps)
]


def redact(text):
    for pattern in PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


class RedactPatientDataFilter(logging.Filter):
    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template only
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if hasattr(record, "request"):
            record.request = None
        return True


class PatientSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    def get_post_parameters(self, request):
        if request is None:
            return {}
        return dict.fromkeys(request.POST, self.cleansed_substitute)

    def get_traceback_frame_variables(self, request, tb_frame):
        return [("locals", self.cleansed_substitute)]
