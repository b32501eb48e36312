"""Corrections on the finding page: cancel, entered in error, recategorise (and, after main's
services land, patient / exam corrections and routing). Each: who may (a stranger never), the
reason is required and what was typed is kept, the history and timeline say why, the finding
leaves the worklists and stops escalating."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from tracker.models import Escalation, Finding, Status

from ..escalation.conftest import run_sweep
from ..factories import RadiologistFactory

pytestmark = pytest.mark.django_db

VOIDS = [
    ("cancel", Status.CANCELLED, "Cancelled"),
    ("entered_in_error", Status.ENTERED_IN_ERROR, "Marked entered in error"),
]


def worklist_ids(user, url_name):
    client = Client()  # a session of its own: the clock may have moved past the inactivity logoff
    client.force_login(user)
    return [row.finding.pk for row in client.get(reverse(url_name)).context["rows"]]


@pytest.mark.parametrize(("name", "status", "title"), VOIDS)
def test_the_flagging_radiologist_voids_a_misflagged_finding_with_a_reason(
    clock, as_user, flag, radiologist, name, status, title
):
    finding = flag("critical")
    client = as_user(radiologist)
    page = client.get(reverse("finding", args=[finding.pk])).content.decode()
    assert f'action="{reverse(name, args=[finding.pk])}"' in page  # offered on the page
    response = client.post(reverse(name, args=[finding.pk]), {"reason": "Wrong exam: ACC2."})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.status == status and finding.void_reason == "Wrong exam: ACC2."
    last = finding.history.latest()
    assert last.history_user == radiologist and "Wrong exam: ACC2." in last.history_change_reason
    timeline = client.get(reverse("finding", args=[finding.pk])).context["timeline"]
    event = timeline[-1]
    assert event.title == title and "Wrong exam: ACC2." in " ".join(event.details)


@pytest.mark.parametrize(("name", "status", "title"), VOIDS)
def test_a_void_without_a_reason_is_refused_and_keeps_the_page(
    clock, as_user, flag, radiologist, name, status, title
):
    finding = flag("critical")
    response = as_user(radiologist).post(reverse(name, args=[finding.pk]), {"reason": "   "})
    assert response.status_code == 200
    assert "Give the reason" in " ".join(response.context["form"].errors["reason"])
    finding.refresh_from_db()
    assert finding.status == Status.AWAITING_CONTACT


@pytest.mark.parametrize(("name", "status", "title"), VOIDS)
def test_a_stranger_and_the_referrer_cannot_void(
    clock, as_user, flag, referrer, stranger, name, status, title
):
    finding = flag("critical")
    url = reverse(name, args=[finding.pk])
    assert as_user(stranger).post(url, {"reason": "x"}).status_code == 404
    assert as_user(referrer).post(url, {"reason": "x"}).status_code == 403
    other_department = RadiologistFactory(username="elsewhere", department__code="other-rad")
    assert as_user(other_department).post(url, {"reason": "x"}).status_code == 404
    finding.refresh_from_db()
    assert finding.status == Status.AWAITING_CONTACT


def test_a_radiologist_of_the_department_may_cancel_a_colleagues_finding(
    clock, as_user, flag, radiologist
):
    colleague = RadiologistFactory(username="colleague")
    finding = flag("critical", actor=colleague)
    response = as_user(radiologist).post(reverse("cancel", args=[finding.pk]), {"reason": "Dup."})
    assert response.status_code == 302
    assert Finding.objects.get(pk=finding.pk).status == Status.CANCELLED


@pytest.mark.usefixtures("chain_people")
@pytest.mark.parametrize(("name", "status", "title"), VOIDS)
def test_a_voided_finding_leaves_every_worklist_and_is_never_escalated(
    clock,
    as_user,
    flag,
    radiologist,
    referrer,
    governance,
    name,
    status,
    title,  # noqa: F811
):
    finding = flag("critical")
    assert Finding.objects.get(pk=finding.pk).next_escalation_at is not None
    as_user(radiologist).post(reverse(name, args=[finding.pk]), {"reason": "Flagged twice."})
    finding.refresh_from_db()
    assert finding.next_escalation_at is None
    clock.shift(timedelta(hours=3))  # well past the deadline and the breach point
    run_sweep()
    assert not Escalation.objects.filter(finding=finding).exists()
    assert finding.pk not in worklist_ids(radiologist, "worklist")
    assert finding.pk not in worklist_ids(referrer, "inbox")
    assert finding.pk not in worklist_ids(governance, "open_findings")


@pytest.mark.usefixtures("chain_people")
def test_an_escalating_finding_stops_escalating_once_cancelled(
    clock,
    as_user,
    flag,
    radiologist,
):
    finding = flag("critical")
    clock.shift(timedelta(minutes=61))
    run_sweep()
    before = Escalation.objects.filter(finding=finding).count()
    assert before > 0  # the deadline steps were taken
    as_user(radiologist).post(reverse("cancel", args=[finding.pk]), {"reason": "Wrong patient."})
    assert Finding.objects.get(pk=finding.pk).status == Status.CANCELLED
    clock.shift(timedelta(hours=5))
    run_sweep()
    assert Escalation.objects.filter(finding=finding).count() == before


def test_a_double_submitted_cancel_records_once(clock, as_user, flag, radiologist):
    finding = flag("critical")
    client = as_user(radiologist)
    for _ in range(2):
        assert (
            client.post(reverse("cancel", args=[finding.pk]), {"reason": "Dup."}).status_code == 302
        )
    assert finding.history.filter(status=Status.CANCELLED).count() == 1


def test_recategorise_says_the_deadline_counts_from_the_original_flag(
    clock, as_user, flag, radiologist
):
    finding = flag("significant")  # flagged 14:00 GMT, due in 24 h
    clock.shift(timedelta(minutes=30))
    client = as_user(radiologist)
    page = client.get(reverse("recategorise", args=[finding.pk])).content.decode()
    assert "recomputed from when the finding was first flagged" in page
    assert "Critical: 15:00 GMT 23/11/2026" in page  # flagged 14:00 + 1 h, not now + 1 h
    response = client.post(
        reverse("recategorise", args=[finding.pk]),
        {"category": "critical", "reason": "Second read: tension pneumothorax."},
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.category == "critical"
    assert finding.contact_due_at == finding.flagged_at + timedelta(hours=1)
    timeline = client.get(reverse("finding", args=[finding.pk])).context["timeline"]
    assert any(
        e.title == "Recategorised as critical"
        and "Second read: tension pneumothorax." in " ".join(e.details)
        for e in timeline
    )


def test_recategorise_without_a_reason_keeps_the_choice(clock, as_user, flag, radiologist):
    finding = flag("significant")
    response = as_user(radiologist).post(
        reverse("recategorise", args=[finding.pk]), {"category": "critical", "reason": ""}
    )
    assert response.status_code == 200
    assert response.context["form"]["category"].value() == "critical"
    assert "reason" in response.context["form"].errors
    assert Finding.objects.get(pk=finding.pk).category == "significant"


def test_recategorise_is_refused_to_a_stranger_and_the_referrer(
    clock, as_user, flag, referrer, stranger
):
    finding = flag("significant")
    url = reverse("recategorise", args=[finding.pk])
    data = {"category": "critical", "reason": "x"}
    assert as_user(stranger).post(url, data).status_code == 404
    assert as_user(referrer).post(url, data).status_code == 403
    assert Finding.objects.get(pk=finding.pk).category == "significant"


def test_a_correction_the_state_no_longer_allows_goes_back_to_the_finding(
    clock, as_user, flag, radiologist
):
    finding = flag("critical")
    client = as_user(radiologist)
    client.post(reverse("cancel", args=[finding.pk]), {"reason": "Dup."})
    response = client.post(reverse("recategorise", args=[finding.pk]), {"category": "routine"})
    assert response.status_code == 302 and response.url == reverse("finding", args=[finding.pk])
    assert Finding.objects.get(pk=finding.pk).category == "critical"


def test_the_referrer_sees_no_correction_forms(clock, as_user, flag, referrer):
    finding = flag("critical")
    html = as_user(referrer).get(reverse("finding", args=[finding.pk])).content.decode()
    assert 'id="corrections"' not in html


def patient_form(patient, **changes):
    return {
        "identifier_kind": "mrn",
        "identifier": patient.identifier,
        "family_name": patient.family_name,
        "given_name": patient.given_name,
        "date_of_birth": "",
        "reason": "",
        **changes,
    }


def test_a_mistyped_patient_identifier_is_corrected_with_a_reason_and_before_and_after(
    clock, as_user, flag, radiologist, exam
):
    finding = flag("critical")
    old = exam.patient.identifier
    client = as_user(radiologist)
    clock.shift(timedelta(minutes=5))
    response = client.post(
        reverse("correct_patient", args=[finding.pk]),
        patient_form(
            exam.patient,
            identifier_kind="nhs_number",
            identifier="943 476 5919",
            reason="MRN typed instead of the NHS number; checked on PAS.",
        ),
    )
    assert response.status_code == 302
    exam.patient.refresh_from_db()
    assert exam.patient.identifier == "9434765919"
    last = exam.patient.history.latest()
    assert last.history_user == radiologist
    assert "checked on PAS" in last.history_change_reason
    assert last.prev_record.identifier == old  # the history keeps before and after
    page = client.get(reverse("finding", args=[finding.pk]))
    event = next(e for e in page.context["timeline"] if e.kind == "record")
    assert event.title == "Patient details corrected"
    details = " ".join(event.details)
    assert f"{old} → 9434765919" in details and "Reason: MRN typed instead" in details
    html = page.content.decode()
    assert "data-corrected" in html and "Patient details corrected" in html


def test_a_patient_correction_needs_a_reason_and_a_valid_identifier_and_keeps_the_form(
    clock, as_user, flag, radiologist, exam
):
    finding = flag("critical")
    client = as_user(radiologist)
    url = reverse("correct_patient", args=[finding.pk])
    no_reason = client.post(url, patient_form(exam.patient, family_name="Okafor"))
    assert "reason" in no_reason.context["form"].errors
    bad = client.post(
        url,
        patient_form(
            exam.patient, identifier_kind="nhs_number", identifier="9434765918", reason="Typo"
        ),
    )
    assert "check digit" in " ".join(bad.context["form"].errors["identifier"])
    assert 'value="9434765918"' in bad.content.decode()
    future = client.post(url, patient_form(exam.patient, date_of_birth="2027-01-01", reason="x"))
    assert "date_of_birth" in future.context["form"].errors
    exam.patient.refresh_from_db()
    assert exam.patient.history.count() == 1  # nothing changed


def test_only_the_radiologists_may_correct_the_record(clock, as_user, flag, referrer, stranger):
    finding = flag("critical")
    for name in ("correct_patient", "correct_exam"):
        url = reverse(name, args=[finding.pk])
        assert as_user(stranger).post(url, {"reason": "x"}).status_code == 404
        assert as_user(referrer).post(url, {"reason": "x"}).status_code == 403


def test_the_exam_is_corrected_with_the_ordering_clinician_named_before_and_after(
    clock, as_user, flag, radiologist, exam, referrer
):
    from ..factories import ReferrerFactory

    finding = flag("critical")
    right = ReferrerFactory(username="khan", first_name="Aisha", last_name="Khan")
    client = as_user(radiologist)
    response = client.post(
        reverse("correct_exam", args=[finding.pk]),
        {
            "modality": exam.modality,
            "body_part": "Chest",
            "description": "",
            "ordering_clinician": right.pk,
            "reason": "Ordered by Dr Khan; the request form was misread.",
        },
    )
    assert response.status_code == 302
    exam.refresh_from_db()
    assert exam.ordering_clinician == right
    event = next(
        e
        for e in client.get(reverse("finding", args=[finding.pk])).context["timeline"]
        if e.kind == "record"
    )
    assert event.title == "Exam details corrected"
    assert "Dr Alex Smith → Dr Aisha Khan" in " ".join(event.details)


@pytest.fixture
def unrouted(clock, flag, radiologist):
    """A result whose ordering clinician is unknown: accepted, with the radiologist to route."""
    from ..factories import ExamFactory

    exam = ExamFactory(ordering_clinician=None)
    finding = flag("critical", accession_number=exam.accession_number)
    assert finding.unrouted and finding.responsible_clinician == radiologist
    return finding


def test_an_unrouted_finding_shows_as_such_and_is_routed_in_one_action(
    clock, as_user, unrouted, radiologist, referrer, governance
):
    html = as_user(radiologist).get(reverse("worklist")).content.decode()
    assert "Unrouted: choose the referrer" in html
    page = as_user(radiologist).get(reverse("finding", args=[unrouted.pk])).content.decode()
    assert 'id="correction-route" open' in page  # offered first, already open
    response = as_user(radiologist).post(
        reverse("route", args=[unrouted.pk]),
        {
            "submission_key": "6f1c1a4e-5a36-4d7e-9b3e-0c1f2d3e4a5b",
            "to_clinician": referrer.pk,
            "reason": "Orderer confirmed by the ward clerk.",
        },
    )
    assert response.status_code == 302
    unrouted.refresh_from_db()
    assert not unrouted.unrouted and unrouted.responsible_clinician == referrer
    assert unrouted.pk in worklist_ids(referrer, "inbox")
    html = as_user(radiologist).get(reverse("worklist")).content.decode()
    assert "Unrouted" not in html


def test_route_is_refused_to_a_stranger_and_needs_a_referrer(
    clock, as_user, unrouted, radiologist, stranger
):
    url = reverse("route", args=[unrouted.pk])
    assert as_user(stranger).post(url, {"reason": "x"}).status_code == 404
    response = as_user(radiologist).post(
        url, {"submission_key": "6f1c1a4e-5a36-4d7e-9b3e-0c1f2d3e4a5c", "reason": "x"}
    )
    assert response.status_code == 200 and "to_clinician" in response.context["form"].errors
    unrouted.refresh_from_db()
    assert unrouted.unrouted


def test_an_overdue_unrouted_finding_shows_on_the_governance_board(clock, unrouted, governance):
    clock.shift(timedelta(minutes=61))
    response = Client()
    response.force_login(governance)
    html = response.get(reverse("governance:dashboard")).content.decode()
    assert "data-unrouted" in html and "to route" in html


def test_governance_may_void_but_not_recategorise_or_correct(clock, as_user, flag, governance):
    finding = flag("critical")
    client = as_user(governance)
    page = client.get(reverse("finding", args=[finding.pk]))
    offered = [c["correction"].key for c in page.context["corrections"]]
    assert offered == ["cancel", "entered_in_error"]
    data = {"category": "routine", "reason": "x"}
    assert client.post(reverse("recategorise", args=[finding.pk]), data).status_code == 403
    assert client.post(reverse("correct_patient", args=[finding.pk]), data).status_code == 403
    response = client.post(
        reverse("entered_in_error", args=[finding.pk]), {"reason": "Wrong patient: see DATIX 77."}
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.status == Status.ENTERED_IN_ERROR
    assert finding.history.latest().history_user == governance


def test_the_correction_pages_need_no_inline_script_or_style(clock, as_user, flag, radiologist):
    from .test_csp_ready import assert_csp_ready

    finding = flag("critical")
    client = as_user(radiologist)
    for name in ("cancel", "entered_in_error", "recategorise", "correct_patient", "correct_exam"):
        response = client.get(reverse(name, args=[finding.pk]))
        assert response.status_code == 200, name
        assert_csp_ready(response.content.decode())
