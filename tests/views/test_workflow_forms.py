"""Log a call, acknowledge, hand over: outcomes, field errors with nothing saved, double submits."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse

from tracker.models import (
    Acknowledgement,
    CommunicationAttempt,
    Handover,
    Status,
)

from ..factories import ReferrerFactory

pytestmark = pytest.mark.django_db


def post(client, name, finding, **data):
    data.setdefault("submission_key", str(uuid.uuid4()))
    return client.post(reverse(name, args=[finding.pk]), data)


def call_data(finding, **data):
    return {
        "contacted_user": finding.responsible_clinician.pk,
        "channel": "phone",
        "outcome": "read_back",
        **data,
    }


def field_errors(response, field):
    return " ".join(response.context["form"].errors.get(field, []))


# --- log a call -------------------------------------------------------------------------------


def test_the_call_form_is_prefilled_with_the_responsible_clinician(
    clock, as_user, flag, radiologist, referrer
):
    finding = flag("critical")
    response = as_user(radiologist).get(reverse("log_call", args=[finding.pk]))
    form = response.context["form"]
    assert form.initial["contacted_user"] == referrer
    assert form.initial["channel"] == "phone"
    html = response.content.decode()
    assert "autofocus" in html
    assert "01632 960 201" in html  # the number to call, beside the form
    assert 'name="breach_reason"' not in html  # not late: no breach question


def test_an_unsuccessful_call_is_recorded_and_the_finding_stays_open(
    clock, as_user, flag, radiologist
):
    finding = flag("critical")
    response = post(
        as_user(radiologist), "log_call", finding, **call_data(finding, outcome="no_answer")
    )
    assert response.status_code == 302
    attempt = CommunicationAttempt.objects.get()
    assert attempt.outcome == "no_answer" and attempt.caller == radiologist
    finding.refresh_from_db()
    assert finding.status == Status.AWAITING_CONTACT


def test_a_read_back_communicates_the_finding(clock, as_user, flag, radiologist):
    finding = flag("critical")
    post(as_user(radiologist), "log_call", finding, **call_data(finding))
    finding.refresh_from_db()
    assert finding.status == Status.COMMUNICATED


def test_a_late_successful_call_asks_for_the_breach_reason(clock, as_user, flag, radiologist):
    finding = flag("critical")
    clock.shift(timedelta(minutes=75))
    client = as_user(radiologist)
    assert (
        'name="breach_reason"'
        in client.get(reverse("log_call", args=[finding.pk])).content.decode()
    )
    response = post(client, "log_call", finding, **call_data(finding))
    assert response.status_code == 200
    assert "give the reason for the delay" in field_errors(response, "breach_reason")
    assert not CommunicationAttempt.objects.exists()
    post(client, "log_call", finding, **call_data(finding, breach_reason="referrer_unreachable"))
    finding.refresh_from_db()
    assert finding.status == Status.COMMUNICATED
    assert finding.breach_reason == "referrer_unreachable"


def test_other_as_breach_reason_needs_words(clock, as_user, flag, radiologist):
    finding = flag("critical")
    clock.shift(timedelta(minutes=75))
    response = post(
        as_user(radiologist), "log_call", finding, **call_data(finding, breach_reason="other")
    )
    assert "Describe the reason." in field_errors(response, "breach_reason_text")
    assert not CommunicationAttempt.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"outcome": ""}, "outcome", "Choose the outcome"),
        ({"channel": ""}, "channel", "Choose how you made contact."),
        ({"channel": "fax"}, "channel", "Select a valid choice."),
        ({"contacted_user": ""}, "contact_name", "Name the person you called"),
    ],
)
def test_a_bad_call_names_the_field_and_saves_nothing(
    clock, as_user, flag, radiologist, data, field, message
):
    finding = flag("critical")
    response = post(as_user(radiologist), "log_call", finding, **call_data(finding, **data))
    assert response.status_code == 200
    assert message in field_errors(response, field)
    assert not CommunicationAttempt.objects.exists()


def test_a_double_submitted_call_is_recorded_once(clock, as_user, flag, radiologist):
    finding = flag("critical")
    client = as_user(radiologist)
    data = call_data(finding, outcome="no_answer", submission_key=str(uuid.uuid4()))
    assert post(client, "log_call", finding, **data).status_code == 302
    assert post(client, "log_call", finding, **data).status_code == 302
    assert CommunicationAttempt.objects.count() == 1


def test_a_referrer_may_not_log_a_call(clock, as_user, flag, referrer):
    finding = flag("critical")
    response = post(as_user(referrer), "log_call", finding, **call_data(finding))
    assert response.status_code == 403
    assert not CommunicationAttempt.objects.exists()


def test_a_call_on_a_closed_finding_is_refused_with_the_reason(
    clock, as_user, flag, radiologist, referrer, call
):
    from tracker.services import findings as services

    finding = flag("critical")
    call(finding, radiologist)
    services.finding_acknowledge(actor=referrer, finding=finding, planned_action="admitted")
    response = post(as_user(radiologist), "log_call", finding, **call_data(finding))
    assert response.status_code == 200
    assert "Cannot log a call: the finding is acknowledged." in response.content.decode()
    assert CommunicationAttempt.objects.count() == 1


# --- acknowledge ------------------------------------------------------------------------------


def test_one_click_acknowledges_with_the_planned_action(
    clock, as_user, flag, radiologist, referrer, call
):
    finding = flag("critical")
    call(finding, radiologist)
    response = post(as_user(referrer), "acknowledge", finding, planned_action="admitted")
    assert response.status_code == 302
    ack = Acknowledgement.objects.get()
    assert ack.acknowledged_by == referrer and ack.planned_action == "admitted"
    finding.refresh_from_db()
    assert finding.status == Status.ACKNOWLEDGED


def test_the_covering_colleague_can_acknowledge(clock, as_user, flag, radiologist, referrer, call):
    cover = ReferrerFactory(username="cover")
    referrer.covering_colleague = cover
    referrer.save()
    finding = flag("critical")
    call(finding, radiologist)
    assert (
        post(as_user(cover), "acknowledge", finding, planned_action="admitted").status_code == 302
    )
    assert Acknowledgement.objects.get().acknowledged_by == cover


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"planned_action": "other"}, "note", "Describe the planned action."),
        ({"planned_action": ""}, "planned_action", "Choose the planned action."),
        ({"planned_action": "nothing"}, "planned_action", "Select a valid choice."),
    ],
)
def test_a_bad_acknowledgement_names_the_field_and_saves_nothing(
    clock, as_user, flag, radiologist, referrer, call, data, field, message
):
    finding = flag("critical")
    call(finding, radiologist)
    response = post(as_user(referrer), "acknowledge", finding, **data)
    assert response.status_code == 200
    assert message in field_errors(response, field)
    assert message in response.content.decode()
    assert not Acknowledgement.objects.exists()


def test_acknowledging_before_the_read_back_is_refused(clock, as_user, flag, referrer):
    finding = flag("critical")
    response = post(as_user(referrer), "acknowledge", finding, planned_action="admitted")
    assert (
        "no read-back or other qualifying contact has been recorded yet"
        in response.content.decode()
    )
    assert not Acknowledgement.objects.exists()


def test_a_double_submitted_acknowledgement_is_recorded_once(
    clock, as_user, flag, radiologist, referrer, call
):
    finding = flag("critical")
    call(finding, radiologist)
    client = as_user(referrer)
    key = str(uuid.uuid4())
    for _ in range(2):
        response = post(
            client, "acknowledge", finding, planned_action="admitted", submission_key=key
        )
        assert response.status_code == 302
    assert Acknowledgement.objects.count() == 1


def test_a_radiologist_may_not_acknowledge(clock, as_user, flag, radiologist, call):
    finding = flag("critical")
    call(finding, radiologist)
    response = post(as_user(radiologist), "acknowledge", finding, planned_action="admitted")
    assert response.status_code == 403
    assert not Acknowledgement.objects.exists()


# --- hand over --------------------------------------------------------------------------------


def test_a_referrer_hands_over_to_a_colleague_with_a_reason(clock, as_user, flag, referrer):
    colleague = ReferrerFactory(username="colleague")
    finding = flag("critical")
    response = post(
        as_user(referrer), "hand_over", finding, to_clinician=colleague.pk, reason="End of shift"
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.responsible_clinician == colleague
    assert Handover.objects.get().made_by == referrer


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reason": ""}, "reason", "Give a reason for the hand-over."),
        ({"to_clinician": ""}, "to_clinician", "Choose the colleague to hand over to."),
    ],
)
def test_a_bad_hand_over_names_the_field_and_saves_nothing(
    clock, as_user, flag, referrer, data, field, message
):
    colleague = ReferrerFactory(username="colleague")
    finding = flag("critical")
    data = {"to_clinician": colleague.pk, "reason": "End of shift", **data}
    response = post(as_user(referrer), "hand_over", finding, **data)
    assert response.status_code == 200
    assert message in field_errors(response, field)
    assert not Handover.objects.exists()


def test_one_cannot_hand_over_to_the_clinician_already_responsible(
    clock, as_user, flag, referrer, radiologist
):
    finding = flag("critical")
    response = post(
        as_user(radiologist), "hand_over", finding, to_clinician=referrer.pk, reason="Re-route"
    )
    assert "Select a valid choice." in field_errors(response, "to_clinician")
    assert not Handover.objects.exists()


def test_a_double_submitted_hand_over_is_recorded_once(clock, as_user, flag, referrer):
    colleague = ReferrerFactory(username="colleague")
    finding = flag("critical")
    client = as_user(referrer)
    data = {
        "to_clinician": colleague.pk,
        "reason": "End of shift",
        "submission_key": str(uuid.uuid4()),
    }
    assert post(client, "hand_over", finding, **data).status_code == 302
    second = post(client, "hand_over", finding, **data)
    assert second.status_code == 302
    assert Handover.objects.count() == 1


def test_the_acknowledge_page_says_when_there_is_nothing_to_acknowledge_yet(
    clock, as_user, flag, referrer
):
    finding = flag("critical")
    html = as_user(referrer).get(reverse("acknowledge", args=[finding.pk])).content.decode()
    assert "Nothing to acknowledge yet" in html
    assert 'name="planned_action"' not in html


# --- not my patient, and closing -------------------------------------------------------------


def test_not_my_patient_returns_the_finding_to_the_radiologist(
    clock, as_user, flag, radiologist, referrer, call
):
    finding = flag("critical")
    call(finding, radiologist)
    client = as_user(referrer)
    data = {"reason": "Transferred to surgery", "submission_key": str(uuid.uuid4())}
    assert post(client, "decline", finding, **data).status_code == 302
    assert post(client, "decline", finding, **data).status_code == 302  # double submit
    finding.refresh_from_db()
    assert finding.responsible_clinician == radiologist
    assert finding.status == Status.AWAITING_CONTACT
    assert Handover.objects.get().kind == "declined"


def test_declining_without_a_reason_names_the_field_and_saves_nothing(
    clock, as_user, flag, referrer
):
    finding = flag("critical")
    response = post(as_user(referrer), "decline", finding, reason=" ")
    assert "Say why this finding is not yours." in field_errors(response, "reason")
    assert not Handover.objects.exists()


def test_a_stranger_cannot_decline_or_close(clock, as_user, flag, stranger):
    finding = flag("critical")
    client = as_user(stranger)
    assert post(client, "decline", finding, reason="Not mine").status_code == 404
    assert post(client, "close", finding).status_code == 404


def test_the_referrer_closes_an_acknowledged_finding(
    clock, as_user, flag, radiologist, referrer, call
):
    from tracker.services import findings as services

    finding = flag("critical")
    call(finding, radiologist)
    services.finding_acknowledge(actor=referrer, finding=finding, planned_action="admitted")
    client = as_user(referrer)
    assert "Close finding" in client.get(reverse("finding", args=[finding.pk])).content.decode()
    for _ in range(2):  # a double submit closes once
        assert post(client, "close", finding, note="Drain in").status_code == 302
    finding.refresh_from_db()
    assert finding.status == Status.CLOSED
    assert finding.history.filter(status=Status.CLOSED).count() == 1


def test_closing_before_acknowledgement_is_refused_with_the_reason(clock, as_user, flag, referrer):
    finding = flag("critical")
    response = as_user(referrer).post(
        reverse("close", args=[finding.pk]), {"submission_key": str(uuid.uuid4())}, follow=True
    )
    assert "Cannot close: the finding is awaiting contact." in response.content.decode()
    finding.refresh_from_db()
    assert finding.status == Status.AWAITING_CONTACT


def test_a_refusal_says_why_on_a_page_with_the_navigation(clock, as_user, flag, referrer):
    finding = flag("critical")
    response = as_user(referrer).get(reverse("log_call", args=[finding.pk]))
    assert response.status_code == 403
    html = response.content.decode()
    assert "Only a radiologist of the flagging department can log a call" in html
    assert reverse("inbox") in html


def test_a_form_without_its_submission_key_says_so_and_saves_nothing(
    clock, as_user, flag, radiologist
):
    finding = flag("critical")
    data = call_data(finding, outcome="no_answer")
    response = as_user(radiologist).post(reverse("log_call", args=[finding.pk]), data)
    assert response.status_code == 200
    assert "This form was incomplete" in response.content.decode()
    assert response.context["form"]["submission_key"].value()  # a fresh key for the next try
    assert not CommunicationAttempt.objects.exists()
