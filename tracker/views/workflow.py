"""The clinical actions on one finding: log a call, acknowledge, hand over.

Each view: 404 if the user may not see the finding, 403 if they may see it but not do this,
then the form, then the service (which checks again, validates, locks and records once).
"""

import json
import uuid
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone

from .. import access, clock
from ..forms import AcknowledgeForm, AttemptForm, CloseForm, DeclineForm, HandoverForm
from ..models import Channel, CommunicationPolicy, Handover, Outcome, Status
from ..services import findings as services
from ..templatetags.clinical import deadline_context
from .base import signed_in, visible_finding_or_404


def _finding(request, pk, allowed, message):
    finding = visible_finding_or_404(request.user, pk)
    if not allowed(request.user, finding):
        raise PermissionDenied(message)
    return finding


def _resubmitted(request, model, finding):
    """A double submit of a form already recorded (e.g. a hand-over, after which the user may
    no longer act): show the finding again instead of refusing or recording twice."""
    if request.method != "POST":
        return False
    try:
        key = uuid.UUID(request.POST.get("submission_key", ""))
    except ValueError:
        return False
    return model.objects.filter(submission_key=key, finding=finding).exists()


def _submit(form, service, **kwargs):
    """Call the service with the form's data; its ValidationError becomes field errors."""
    try:
        return service(submission_key=form.cleaned_data["submission_key"], **kwargs)
    except ValidationError as error:
        form.add_service_error(error)
        return None


def _page(request, template, finding, form, **extra):
    now = clock.now()
    context = {
        "finding": finding,
        "form": form,
        "now": now,
        "deadline": deadline_context(finding, now),
        "clinician": finding.responsible_clinician,
        **extra,
    }
    return render(request, template, context)


def _call_time_from_form(value, finding):
    """The form gives minutes: the current minute means now, and the minute the finding was
    flagged in means no earlier than the flag."""
    if value is None:
        return None
    minute = timedelta(minutes=1)
    if value > clock.now() - minute:
        return None
    if value < finding.flagged_at < value + minute:
        return finding.flagged_at
    return value


def contact_verdicts(policy):
    """Every channel x outcome: does it count for this category, and why not (the log-call form
    says so before saving; tracker.js reads it)."""
    return {
        channel: {
            outcome: _verdict(*policy.contact_verdict(channel, outcome))
            for outcome in Outcome.values
        }
        for channel in Channel.values
    }


def _verdict(counts, why_not):
    return {"counts": counts, "why_not": why_not}


def _verdict_now(policy, form):
    channel = form["channel"].value()
    outcome = form["outcome"].value()
    if channel not in Channel.values or outcome not in Outcome.values:
        return None
    return _verdict(*policy.contact_verdict(channel, outcome))


@signed_in
def log_call(request, pk):
    finding = _finding(
        request,
        pk,
        access.can_log_attempt,
        "Only a radiologist of the flagging department can log a call on this finding.",
    )
    if request.method == "POST":
        form = AttemptForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            attempt = _submit(
                form,
                services.attempt_log,
                actor=request.user,
                finding=finding,
                channel=data["channel"],
                outcome=data["outcome"],
                contacted_user=data["contacted_user"],
                contact_name=data["contact_name"],
                contact_role=data["contact_role"],
                contact_number=data["contact_number"],
                notes=data["notes"],
                breach_reason=data["breach_reason"],
                breach_reason_text=data["breach_reason_text"],
                attempted_at=_call_time_from_form(data["attempted_at"], finding),
                planned_action=data["planned_action"],
                planned_action_note=data["planned_action_note"],
            )
            if attempt is not None:
                if attempt.counts_as_communication:
                    messages.success(
                        request, "Communicated. Copy the documentation statement into the report."
                    )
                else:
                    messages.warning(
                        request,
                        "Attempt recorded; the finding stays open. It did not count: "
                        f"{attempt.not_counted_reason} Try again or call the covering colleague.",
                    )
                return redirect("finding", pk=finding.pk)
    else:
        responsible = finding.responsible_clinician
        form = AttemptForm(
            initial={
                "contacted_user": None if finding.unrouted else responsible,
                "channel": Channel.PHONE,
                "contact_number": "" if finding.unrouted else responsible.phone,
                "attempted_at": timezone.localtime(clock.now()),
            }
        )
    late = (
        finding.deadline_state(clock.now()).is_overdue and finding.status == Status.AWAITING_CONTACT
    )
    show_breach = late or bool(
        form.errors.get("breach_reason") or form.errors.get("breach_reason_text")
    )
    policy = CommunicationPolicy.for_category(finding.category)
    return _page(
        request,
        "tracker/log_call.html",
        finding,
        form,
        late=late,
        show_breach=show_breach,
        verdicts_json=json.dumps(contact_verdicts(policy)),
        verdict=_verdict_now(policy, form),
    )


@signed_in
def acknowledge(request, pk):
    finding = _finding(
        request,
        pk,
        access.can_acknowledge,
        "Only the responsible clinician (or their cover) can acknowledge this finding.",
    )
    if request.method == "POST":
        form = AcknowledgeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            ack = _submit(
                form,
                services.finding_acknowledge,
                actor=request.user,
                finding=finding,
                planned_action=data["planned_action"],
                note=data["note"],
            )
            if ack is not None:
                messages.success(request, f"Acknowledged: {ack.get_planned_action_display()}.")
                return redirect("finding", pk=finding.pk)
    else:
        form = AcknowledgeForm()
    return _page(request, "tracker/acknowledge.html", finding, form)


@signed_in
def hand_over(request, pk):
    finding = visible_finding_or_404(request.user, pk)
    if _resubmitted(request, Handover, finding):
        return redirect("finding", pk=finding.pk)
    if not access.can_hand_over(request.user, finding):
        raise PermissionDenied("You cannot hand over this finding.")
    if request.method == "POST":
        form = HandoverForm(request.POST, finding=finding)
        if form.is_valid():
            data = form.cleaned_data
            handover = _submit(
                form,
                services.finding_hand_over,
                actor=request.user,
                finding=finding,
                to_clinician=data["to_clinician"],
                reason=data["reason"],
            )
            if handover is not None:
                messages.success(request, f"Handed over to {handover.to_clinician.display_name}.")
                if access.can_view_finding(request.user, finding):
                    return redirect("finding", pk=finding.pk)
                return redirect("home")
    else:
        form = HandoverForm(finding=finding)
    return _page(request, "tracker/hand_over.html", finding, form)


@signed_in
def decline(request, pk):
    """'Not my patient': the finding goes back to the flagging radiologist to re-route."""
    finding = visible_finding_or_404(request.user, pk)
    if _resubmitted(request, Handover, finding):
        return redirect("finding", pk=finding.pk)
    if not access.can_decline(request.user, finding):
        raise PermissionDenied(
            "Only the responsible clinician (or their cover) can decline this finding."
        )
    if request.method == "POST":
        form = DeclineForm(request.POST)
        if form.is_valid():
            done = _submit(
                form,
                services.finding_decline,
                actor=request.user,
                finding=finding,
                reason=form.cleaned_data["reason"],
            )
            if done is not None:
                messages.success(request, "Declined: the radiologist will re-route it.")
                return redirect("finding", pk=finding.pk)
    else:
        form = DeclineForm()
    return _page(request, "tracker/decline.html", finding, form)


@signed_in
def close(request, pk):
    """The planned action is done: the finding leaves every worklist (POST only)."""
    finding = _finding(request, pk, access.can_close, "You cannot close this finding.")
    if request.method != "POST":
        return redirect("finding", pk=finding.pk)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            services.finding_close(
                actor=request.user, finding=finding, note=form.cleaned_data["note"]
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, "Closed.")
    else:
        messages.error(request, "The form was incomplete: please try again.")
    return redirect("finding", pk=finding.pk)
