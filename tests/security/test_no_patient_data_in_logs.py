"""No patient data in logs or error pages."""

import logging

import pytest
from django.test import Client, RequestFactory

from tracker.security.logging import (
    PatientSafeExceptionReporterFilter,
    RedactPatientDataFilter,
    redact,
)

pytestmark = pytest.mark.django_db


def test_nhs_numbers_hospital_numbers_and_birth_dates_are_redacted():
    text = redact("Patient 943 476 5919 (MRN0012345, 9434765919) born 14/03/1948, 1948-03-14")
    assert text == ("Patient [redacted] ([redacted], [redacted]) born [redacted], [redacted]")
    # Timestamps and ordinary ids stay readable.
    assert redact("finding 42 at 2026-11-23T14:00:00+00:00") == (
        "finding 42 at 2026-11-23T14:00:00+00:00"
    )


def test_the_log_filter_redacts_arguments_and_drops_the_request():
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Failed for %s", ("NHS 9990000018",), None
    )
    record.request = RequestFactory().post("/x/", {"family_name": "ASHWORTH"})
    assert RedactPatientDataFilter().filter(record)
    assert record.getMessage() == "Failed for NHS [redacted]"
    assert record.request is None


def test_every_configured_handler_redacts(settings):
    for name, handler in settings.LOGGING["handlers"].items():
        assert "redact" in handler.get("filters", []), name


@pytest.mark.urls("tests.security.urls_for_tests")
def test_an_error_page_shows_no_patient_data(settings, caplog):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    response = client.get("/test/boom/")
    assert response.status_code == 500
    assert b"ASHWORTH" not in response.content and b"999 000 0018" not in response.content
    response = client.get("/test/not-found/")
    assert response.status_code == 404 and b"ASHWORTH" not in response.content


def test_error_reports_hide_post_data_and_local_variables():
    request = RequestFactory().post("/x/", {"family_name": "ASHWORTH", "note": "DOB 14/03/1948"})
    reporter_filter = PatientSafeExceptionReporterFilter()
    assert set(reporter_filter.get_post_parameters(request).values()) == {"********************"}
    assert reporter_filter.get_traceback_frame_variables(request, None) == [
        ("locals", "********************")
    ]


def test_a_field_python_hl7_cannot_unescape_is_not_logged(caplog):
    from tracker.hl7.parser import parse

    raw = (
        b"MSH|^~\\&|RIS|HOSP|TRACKER|HOSP|20261123140000||ORU^R01|X1|P|2.4\r"
        b"PID|1||MRN1^^^HOSP^MR||ASHW\\Zq\\ORTH^Mary\\X4G\\Jane||19480314|F\r"
        b"OBR|1||ACC1|CT^CT|||20261123133000||||||||||||||||CT|F\r"
        b"OBX|1|TX|IMP||text||||||F\r"
    )
    with caplog.at_level(logging.DEBUG):
        parse(raw)
    records = [r for r in caplog.records if "hl7" in r.name]
    assert len(records) == 2  # python-hl7 still says that it happened, twice
    for record in records:
        assert record.exc_info is None and record.exc_text is None
    assert "not logged" in caplog.text
    for text in ("ASHW", "ORTH", "Mary", "Jane", "Zq", "4G"):
        assert text not in caplog.text, text
