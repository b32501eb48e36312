"""A small known data set for the governance report, built through the real services.

Times are in November 2026 (GMT, so local time = UTC). "Now" is T0 = Monday 23/11/2026 14:00.

| id | category    | flagged     | radiologist  | referrer  | mod | to contact | to ack |
|----|-------------|-------------|--------------|-----------|-----|------------|--------|
| A  | critical    | 02/11 10:00 | radiologist  | referrer  | CT  | 20 min     | 10 min |
| B  | critical    | 03/11 10:00 | radiologist  | referrer  | CT  | 40 min     | 30 min |
| C  | critical    | 04/11 10:00 | radiologist  | referrer  | CT  | 60 min     | 60 min |
| D  | critical    | 05/11 10:00 | radiologist2 | referrer  | MR  | 90 (late)  | 20 min |
| E  | critical    | 10/11 10:00 | radiologist2 | referrer  | MR  | 150 (late) | none   |
| F  | significant | 12/11 10:00 | radiologist  | referrer2 | CT  | 120 min    | 240    |
| G  | significant | 20/11 09:00 | radiologist  | referrer  | CT  | never: breached 21/11 |
| H  | critical    | 23/11 13:30 | radiologist  | referrer  | CT  | not yet due (14:30)   |
| I  | routine     | 06/11 10:00 | radiologist  | referrer  | CT  | no deadline           |
| J  | critical    | 07/11 10:00 | cancelled (excluded)                                 |
| K  | critical    | 30/10 10:00 | radiologist  | referrer  | CT  | 10 min     | 5 min  |
"""

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import T0
from tests.factories import DepartmentFactory, ExamFactory, RadiologistFactory, ReferrerFactory
from tracker.models import Channel, Outcome, PlannedAction
from tracker.services import findings as services


def at(day, hour, minute=0, month=11):
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def people(radiologist, referrer):
    medicine = DepartmentFactory(code="medicine", name="Medicine")
    return {
        "radiologist": radiologist,
        "radiologist2": RadiologistFactory(
            username="radiologist2", first_name="Cal", last_name="Okafor"
        ),
        "referrer": referrer,
        "referrer2": ReferrerFactory(
            username="referrer2", first_name="Dee", last_name="Patel", department=medicine
        ),
        "medicine": medicine,
    }


@pytest.fixture
def known_findings(clock, people):
    """Build A..K (see the module docstring); leaves the clock at T0."""

    def make(
        category,
        flagged,
        radiologist="radiologist",
        referrer="referrer",
        modality="CT",
        contact=None,
        ack=None,
        reason="",
    ):
        clock.move_to(flagged)
        exam = ExamFactory(ordering_clinician=people[referrer], modality=modality)
        rad = people[radiologist]
        finding = services.finding_flag(
            actor=rad,
            accession_number=exam.accession_number,
            category=category,
            description="Known test finding.",
        )
        if contact is not None:
            clock.move_to(flagged + timedelta(minutes=contact))
            services.attempt_log(
                actor=rad,
                finding=finding,
                channel=Channel.PHONE,
                outcome=Outcome.READ_BACK,
                contacted_user=people[referrer],
                breach_reason=reason,
            )
        if ack is not None:
            clock.move_to(flagged + timedelta(minutes=contact + ack))
            finding.refresh_from_db()
            services.finding_acknowledge(
                actor=people[referrer], finding=finding, planned_action=PlannedAction.ADMITTED
            )
        finding.refresh_from_db()
        return finding

    found = {
        "K": make("critical", at(30, 10, month=10), contact=10, ack=5),
        "A": make("critical", at(2, 10), contact=20, ack=10),
        "B": make("critical", at(3, 10), contact=40, ack=30),
        "C": make("critical", at(4, 10), contact=60, ack=60),
        "D": make(
            "critical",
            at(5, 10),
            radiologist="radiologist2",
            modality="MR",
            contact=90,
            ack=20,
            reason="referrer_unreachable",
        ),
        "I": make("routine", at(6, 10)),
        "J": make("critical", at(7, 10)),
        "E": make(
            "critical",
            at(10, 10),
            radiologist="radiologist2",
            modality="MR",
            contact=150,
            reason="radiologist_delay",
        ),
        "F": make("significant", at(12, 10), referrer="referrer2", contact=120, ack=240),
        "G": make("significant", at(20, 9)),
        "H": make("critical", at(23, 13, 30)),
    }
    clock.move_to(at(7, 10, 5))
    services.finding_cancel(
        actor=people["radiologist"], finding=found["J"], reason="Wrong patient."
    )
    clock.move_to(T0)
    for finding in found.values():
        finding.refresh_from_db()
    return found
