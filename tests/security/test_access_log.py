"""The read access log: who viewed which finding or patient, when; governance reads it."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from tracker.audit.access import access_record, finding_accesses, patient_accesses
from tracker.models import AuditEntry, FindingAccess

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.urls("tests.security.urls_for_tests")
def test_viewing_a_finding_records_who_and_when(clock, flag, referrer, stranger):
    finding = flag()
    assert signed_in(referrer).get(f"/test/findings/{finding.pk}/").status_code == 200
    entry = FindingAccess.objects.get()
    assert (entry.user, entry.finding, entry.via) == (referrer, finding, "finding_detail")
    assert entry.accessed_at.isoformat() == "2026-11-23T14:00:00+00:00"
    # The read is a link of the audit chain.
    assert AuditEntry.objects.filter(stream="tracker.findingaccess", record_id=str(entry.pk))


@pytest.mark.urls("tests.security.urls_for_tests")
def test_a_refused_view_is_not_logged_as_a_read(clock, flag, stranger):
    finding = flag()
    assert signed_in(stranger).get(f"/test/findings/{finding.pk}/").status_code == 404
    assert not FindingAccess.objects.exists()


def test_the_admin_change_view_of_a_finding_or_patient_is_logged(clock, flag, administrator):
    finding = flag()
    client = signed_in(administrator)
    url = reverse("admin:tracker_finding_change", args=[finding.pk])
    assert client.get(url).status_code == 200
    patient = finding.exam.patient
    assert client.get(reverse("admin:tracker_patient_change", args=[patient.pk])).status_code == 200
    reads = {(a.finding_id, a.patient_id, a.via) for a in FindingAccess.objects.all()}
    assert reads == {
        (finding.pk, None, "admin:tracker_finding_change"),
        (None, patient.pk, "admin:tracker_patient_change"),
    }


def test_governance_reads_the_log_and_nobody_else_does(
    clock, flag, governance, radiologist, referrer
):
    finding = flag()
    access_record(user=referrer, finding=finding, via="finding_detail")
    access_record(user=radiologist, patient=finding.exam.patient, via="patient_detail")
    assert [a.user for a in finding_accesses(user=governance, finding=finding)] == [referrer]
    assert [a.user for a in patient_accesses(user=governance, patient=finding.exam.patient)] == [
        radiologist
    ]
    for user in (radiologist, referrer):
        with pytest.raises(PermissionDenied):
            finding_accesses(user=user, finding=finding)


def test_the_access_log_page_shows_governance_who_viewed_the_finding(
    clock, flag, governance, referrer, radiologist
):
    finding = flag()
    access_record(user=referrer, finding=finding, via="finding_detail")
    url = reverse("audit:finding_access_log", args=[finding.pk])
    response = signed_in(governance).get(url)
    assert response.status_code == 200
    assert "Dr Alex Smith" in response.content.decode()
    assert "14:00 GMT 23/11/2026" in response.content.decode()
    assert signed_in(radiologist).get(url).status_code == 404
    # Reading the log is itself a read of the finding; the refused attempt is not.
    assert [(a.user, a.via) for a in FindingAccess.objects.order_by("id")] == [
        (referrer, "finding_detail"),
        (governance, "finding_access_log"),
    ]


def test_a_read_must_name_what_was_read(governance):
    with pytest.raises(ValueError, match="names a finding or a patient"):
        access_record(user=governance, via="test")


def test_the_finding_page_context_gives_the_log_to_governance_only(
    clock, flag, governance, referrer
):
    from tracker.audit.access import access_log_context

    finding = flag()
    access_record(user=referrer, finding=finding, via="finding_detail")
    context = access_log_context(governance, finding)
    assert context["can_view_access_log"] and [a.user for a in context["accesses"]] == [referrer]
    assert access_log_context(referrer, finding) == {"can_view_access_log": False, "accesses": []}


def test_the_finding_page_records_the_read_and_shows_governance_the_log(
    clock, flag, governance, referrer, stranger
):
    finding = flag()
    url = reverse("finding", args=[finding.pk])
    page = signed_in(referrer).get(url).content.decode()
    assert "Who viewed this finding" not in page
    assert signed_in(stranger).get(url).status_code == 404
    page = signed_in(governance).get(url).content.decode()
    assert "Who viewed this finding" in page and "<td>finding_detail</td>" in page
    assert [(a.user, a.via) for a in FindingAccess.objects.order_by("id")] == [
        (referrer, "finding_detail"),
        (governance, "finding_detail"),
    ]


def test_reading_a_finding_through_the_api_or_fhir_is_recorded(clock, flag, referrer):
    from rest_framework.test import APIClient

    from tracker.models import FindingAccess

    finding = flag("critical")
    client = APIClient()
    client.force_authenticate(referrer)
    assert client.get(f"/api/v1/findings/{finding.pk}/").status_code == 200
    assert client.get(f"/fhir/r4/Task/{finding.pk}").status_code == 200
    vias = list(
        FindingAccess.objects.filter(finding=finding, user=referrer)
        .order_by("pk")
        .values_list("via", flat=True)
    )
    assert vias == ["api: finding detail", "fhir: Task"]
