"""Many open findings for the worklist query-count test and benchmarks/worklist_render.py."""

from tracker.models import Channel, Escalation, EscalationStep, Outcome
from tracker.services import findings as services

from ..factories import ExamFactory


def make_open_findings(radiologist, referrers, start, stop):
    """Findings number start..stop-1 flagged by `radiologist`, for the referrers in turn; a failed
    call on every 4th and an escalation row on every 5th, so each join and prefetch has rows."""
    for i in range(start, stop):
        exam = ExamFactory(ordering_clinician=referrers[i % len(referrers)])
        finding = services.finding_flag(
            actor=radiologist,
            accession_number=exam.accession_number,
            category=["critical", "significant"][i % 2],
            description=f"Finding {i}",
        )
        if i % 4 == 0:
            services.attempt_log(
                actor=radiologist,
                finding=finding,
                channel=Channel.PHONE,
                outcome=Outcome.NO_ANSWER,
                contacted_user=finding.responsible_clinician,
            )
        if i % 5 == 0:
            Escalation.objects.create(
                finding=finding,
                step=EscalationStep.WARNING_REMINDER,
                recipient=radiologist,
                due_at=finding.warning_at,
            )
