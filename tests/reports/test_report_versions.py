import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tracker.reports.models import ReportSource, ReportStatus, ReportVersion
from tracker.reports.services import current_report, report_record

pytestmark = pytest.mark.django_db


def test_each_report_is_a_new_version_never_an_overwrite(clock, radiologist, exam):
    first = report_record(
        actor=radiologist,
        exam=exam,
        status=ReportStatus.PRELIMINARY,
        text="Prelim: pneumothorax.",
        source=ReportSource.SCREEN,
    )
    final = report_record(
        actor=radiologist,
        exam=exam,
        status=ReportStatus.FINAL,
        text="Large right pneumothorax.",
        source=ReportSource.SCREEN,
    )
    assert (first.version, final.version) == (1, 2)
    assert current_report(exam) == final
    first.refresh_from_db()
    assert first.text == "Prelim: pneumothorax."
    assert first.verified_at is None
    assert final.verified_at is not None  # a final report without a time is verified now
    assert final.history.first().history_user == radiologist
    assert list(ReportVersion.objects.current()) == [final]


def test_it_refuses_an_empty_report_unless_cancelled(radiologist, exam):
    with pytest.raises(ValidationError):
        report_record(
            actor=radiologist, exam=exam, status="final", text="  ", source=ReportSource.API
        )
    cancelled = report_record(
        actor=radiologist, exam=exam, status="cancelled", text="", source=ReportSource.HL7
    )
    assert cancelled.status == ReportStatus.CANCELLED


def test_a_verified_report_without_a_time_is_refused_by_the_database(radiologist, exam):
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportVersion.objects.create(
            exam=exam,
            version=1,
            status=ReportStatus.FINAL,
            text="x",
            recorded_by=radiologist,
            source=ReportSource.API,
        )
