"""What is due, and for whom: plain functions of a finding, its policy, the escalations already
recorded and `now`. No queries here (healthchecks' Check.get_status() style).

The chain (CommunicationPolicy.escalation_chain) may contain, in any order:
- warning_reminder: to the flagging radiologist at `warning_at`, repeated every
  `reminder_interval` until the finding is communicated;
- deadline_cover, deadline_department_lead: at `contact_due_at`, to the responsible clinician's
  covering colleague and department lead;
- breach_governance: to the governance lead when the deadline has been missed for one more
  reminder interval (a breach nobody has put right);
- ack_reminder: to the responsible clinician at `acknowledgement_due_at`, repeated every
  `reminder_interval` until acknowledged.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from ..models import EscalationStep, Role, Status, User

REMINDER_STEPS = {EscalationStep.WARNING_REMINDER, EscalationStep.ACK_REMINDER}
CONTACT_STEPS = {
    EscalationStep.WARNING_REMINDER,
    EscalationStep.DEADLINE_COVER,
    EscalationStep.DEADLINE_DEPARTMENT_LEAD,
    EscalationStep.BREACH_GOVERNANCE,
}

REASONS = {
    EscalationStep.WARNING_REMINDER: "Warning point reached: reminder to the flagging radiologist",
    EscalationStep.DEADLINE_COVER: "Deadline passed: covering colleague told",
    EscalationStep.DEADLINE_DEPARTMENT_LEAD: "Deadline passed: department lead told",
    EscalationStep.BREACH_GOVERNANCE: "Breach: governance lead told",
    EscalationStep.ACK_REMINDER: "Acknowledgement window passed: reminder to acknowledge",
}


@dataclass(frozen=True)
class DueStep:
    step: str
    sequence: int
    due_at: datetime

    @property
    def is_reminder(self):
        return self.step in REMINDER_STEPS


def first_check(finding):
    """When the engine must first look at a finding in its present state (None: never)."""
    if finding.status == Status.AWAITING_CONTACT:
        times = [t for t in (finding.warning_at, finding.contact_due_at) if t is not None]
    elif finding.status == Status.COMMUNICATED:
        times = [t for t in (finding.acknowledgement_due_at,) if t is not None]
    else:
        times = []
    return min(times, default=None)


def still_needed(step, finding):
    """At send time: is the reason for this step still there?"""
    if step in CONTACT_STEPS:
        return finding.status == Status.AWAITING_CONTACT
    if step == EscalationStep.ACK_REMINDER:
        return finding.status == Status.COMMUNICATED
    return False


def _reminder(step, first_at, existing, interval):
    sent = [(seq, e) for (s, seq), e in existing.items() if s == step]
    if not sent:
        return DueStep(step, 0, first_at)
    last_seq, last = max(sent, key=lambda pair: pair[0])
    # One interval after the last one went out (not after it was due): a reminder that was late
    # (an outage, a deferral by the cap) is followed by the next one an interval later, never
    # by a burst of catch-ups.
    return DueStep(step, last_seq + 1, max(last.due_at, last.created_at) + interval)


def candidates(finding, policy, existing, now):
    """The next occurrence of every step of the chain that applies now, created or not."""
    chain = set(policy.escalation_chain or [])
    interval = policy.reminder_interval
    steps = []
    if finding.status == Status.AWAITING_CONTACT:
        if EscalationStep.WARNING_REMINDER in chain and finding.warning_at is not None:
            steps.append(
                _reminder(EscalationStep.WARNING_REMINDER, finding.warning_at, existing, interval)
            )
        if finding.contact_due_at is not None:
            for step in (EscalationStep.DEADLINE_COVER, EscalationStep.DEADLINE_DEPARTMENT_LEAD):
                if step in chain:
                    steps.append(DueStep(step, 0, finding.contact_due_at))
            if EscalationStep.BREACH_GOVERNANCE in chain:
                steps.append(
                    DueStep(EscalationStep.BREACH_GOVERNANCE, 0, finding.contact_due_at + interval)
                )
    elif (
        finding.status == Status.COMMUNICATED
        and finding.acknowledgement_due_at is not None
        and EscalationStep.ACK_REMINDER in chain
    ):
        steps.append(
            _reminder(
                EscalationStep.ACK_REMINDER, finding.acknowledgement_due_at, existing, interval
            )
        )
    return [s for s in steps if (s.step, s.sequence) not in existing]


def plan(finding, policy, existing, now):
    """(steps due now and not yet recorded, the time of the next future step or None).

    `existing` maps (step, sequence) to the escalations already recorded for the finding.
    """
    pending = candidates(finding, policy, existing, now)
    due = [s for s in pending if s.due_at <= now]
    later = [s.due_at for s in pending if s.due_at > now]
    return due, min(later, default=None)


def governance_lead():
    username = getattr(settings, "ESCALATION_GOVERNANCE_USERNAME", "")
    leads = User.objects.filter(role=Role.GOVERNANCE, is_active=True)
    if username:
        leads = leads.filter(username=username)
    return leads.order_by("pk").first()


def recipient_for(step, finding, governance=None):
    """Who is told for a step, or None (the step is recorded as skipped: nobody to tell)."""
    responsible = finding.responsible_clinician
    if step == EscalationStep.WARNING_REMINDER:
        person = finding.flagged_by
    elif step == EscalationStep.DEADLINE_COVER:
        person = responsible.covering_colleague
    elif step == EscalationStep.DEADLINE_DEPARTMENT_LEAD:
        department = responsible.department or finding.exam.referring_department
        person = department.lead if department is not None else None
    elif step == EscalationStep.BREACH_GOVERNANCE:
        person = governance
    elif step == EscalationStep.ACK_REMINDER:
        person = responsible
    else:
        person = None
    if person is None or not person.is_active:
        return None
    return person
