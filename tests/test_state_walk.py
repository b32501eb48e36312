"""Every open finding always has someone able to act on it: a walk over every state reachable
through the services, by every action a busy department takes (and gets wrong).

Breadth-first over abstract states (status, category, routed or not, who is responsible,
deadline passed or not). Each new state is reached by replaying its path from a fresh finding
inside a savepoint that is rolled back, so every step runs the real services, permissions and
database constraints. After every step that succeeds, the invariants below must hold.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from tracker import access
from tracker.hl7.mapping import interface_user
from tracker.models import Channel, Finding, Outcome, PlannedAction, Role, Status, User
from tracker.models.findings import OPEN_STATUSES
from tracker.services import findings as services

from .factories import ExamFactory, RadiologistFactory, ReferrerFactory

pytestmark = pytest.mark.django_db

MAX_DEPTH = 9


class Rollback(Exception):
    pass


@pytest.fixture
def cast(radiologist, referrer, governance, chain_people):
    """The people of a department: the flagging radiologist and a colleague, the ordering
    referrer with cover and department lead, another referrer, governance, a stranger."""
    return {
        **chain_people,
        "radiologist2": RadiologistFactory(username="radiologist2"),
        "other_referrer": ReferrerFactory(username="other-referrer"),
    }


def _actions(cast):
    r = cast["radiologist"]
    other = cast["other_referrer"]
    late = {"breach_reason": "referrer_unreachable"}

    def call(outcome=Outcome.READ_BACK, channel=Channel.PHONE, **kw):
        def act(f):
            if "contact_name" not in kw and "contacted_user" not in kw:
                kw_ = {**kw, "contacted_user": f.responsible_clinician}
            else:
                kw_ = kw
            return services.attempt_log(
                actor=r, finding=f, channel=channel, outcome=outcome, **late, **kw_
            )

        return act

    def by_responsible(service, **kw):
        def act(f):
            return service(actor=f.responsible_clinician, finding=f, **kw)

        return act

    return {
        "no answer": call(Outcome.NO_ANSWER),
        "read back to responsible": call(),
        "read back to another referrer": call(contacted_user=other),
        "read back to a clinician without an account": call(
            contact_name="Dr Lou Cum",
            contact_role="Registrar, another hospital",
            contact_number="01632 960 999",
            planned_action=PlannedAction.ADMITTED,
        ),
        "emailed to responsible": call(Outcome.REACHED_NO_READ_BACK, Channel.EMAIL),
        "decline": by_responsible(services.finding_decline, reason="Not my patient"),
        "hand over": lambda f: services.finding_hand_over(
            actor=f.responsible_clinician, finding=f, to_clinician=other, reason="Shift end"
        ),
        "route": lambda f: services.finding_route(
            actor=r, finding=f, to_clinician=cast["referrer"], reason="Found the team"
        ),
        "acknowledge": by_responsible(
            services.finding_acknowledge, planned_action=PlannedAction.ADMITTED
        ),
        "acknowledge as lead": lambda f: services.finding_acknowledge(
            actor=cast["lead"], finding=f, planned_action=PlannedAction.ADMITTED
        ),
        "to critical": lambda f: services.finding_recategorise(
            actor=r, finding=f, category="critical", reason="Re-read"
        ),
        "to routine": lambda f: services.finding_recategorise(
            actor=r, finding=f, category="routine", reason="Re-read"
        ),
        "close": lambda f: services.finding_close(actor=r, finding=f),
        "cancel": lambda f: services.finding_cancel(actor=r, finding=f, reason="Duplicate"),
        "deadline passes": "wait",
    }


def _people_who_can(finding, users, check):
    return [u for u in users if check(u, finding)]


def assert_someone_can_act(finding, users, path):
    """The property: an open finding always has an active person who can take its next step,
    and is never the responsibility of an integration account."""
    where = " → ".join(path) or "flagged"
    assert finding.responsible_clinician.is_active, where
    assert not access.is_system_account(finding.responsible_clinician), where
    if finding.status not in OPEN_STATUSES:
        assert finding.next_escalation_at is None, where  # finished: nothing escalates
        return
    if finding.status == Status.AWAITING_CONTACT:
        assert _people_who_can(finding, users, access.can_log_attempt), where
        if finding.unrouted:
            assert finding.responsible_clinician.role == Role.RADIOLOGIST, where
            assert _people_who_can(finding, users, access.can_route), where
        else:
            assert _people_who_can(finding, users, access.is_accountable_for), where
        if finding.contact_due_at is not None:
            assert finding.next_escalation_at is not None, where
    elif finding.status == Status.COMMUNICATED:
        assert not finding.unrouted, where
        assert _people_who_can(finding, users, access.can_acknowledge), where
    elif finding.status == Status.ACKNOWLEDGED:
        assert _people_who_can(finding, users, access.can_close), where
    # Every action the page offers is one the services accept as permitted.
    for user in users:
        for name, offered in access.actions_for(user, finding).items():
            if offered and name in ("log_attempt", "recategorise", "void", "route"):
                assert access.is_radiologist_for(user, finding) or name == "void", (where, name)


def _state(finding, cast, waited):
    who = next(
        (name for name, u in cast.items() if u.pk == finding.responsible_clinician_id), "duty"
    )
    return (finding.status, finding.category, finding.unrouted, who, waited)


def test_from_every_reachable_state_someone_can_act_or_the_finding_is_finished(clock, cast):
    users = list(User.objects.filter(is_active=True))
    actions = _actions(cast)
    exam = ExamFactory(ordering_clinician=cast["referrer"])
    seen = {}
    counts = {"accepted": 0, "refused": 0}

    def explore(pk, path, waited):
        """Take every action from this state, each inside a savepoint rolled back afterwards;
        go deeper from each state not seen before."""
        for name, action in actions.items():
            if len(path) >= MAX_DEPTH:
                return
            step_path = (*path, name)
            started = clock_now()
            try:
                with transaction.atomic():
                    if action == "wait":
                        clock.shift(timedelta(hours=25))
                    else:
                        action(Finding.objects.get(pk=pk))
                    finding = Finding.objects.get(pk=pk)
                    assert_someone_can_act(finding, users, step_path)
                    counts["accepted"] += 1
                    state = _state(finding, cast, waited or action == "wait")
                    if state not in seen:
                        seen[state] = step_path
                        if state[0] in OPEN_STATUSES:
                            explore(pk, step_path, state[4])
                    raise Rollback
            except (ValidationError, PermissionDenied):
                counts["refused"] += 1
            except Rollback:
                pass
            finally:
                clock.move_to(started)

    def clock_now():
        from tracker import clock as server_clock

        return server_clock.now()

    finding = services.finding_flag(
        actor=cast["radiologist"],
        accession_number=exam.accession_number,
        category="significant",
        description="Walked",
    )
    assert_someone_can_act(finding, users, ())
    explore(finding.pk, (), False)

    statuses = {state[0] for state in seen}
    # The walk reached every status, unrouted findings, and both sides of the deadline.
    assert statuses == {
        Status.AWAITING_CONTACT,
        Status.COMMUNICATED,
        Status.ACKNOWLEDGED,
        Status.CLOSED,
        Status.CANCELLED,
    }
    assert any(state[2] for state in seen) and any(state[4] for state in seen)
    assert counts["accepted"] > 50 and counts["refused"] > 50, counts
    print(f"state walk: {len(seen)} states, {counts}")


def test_an_unrouted_hl7_result_with_nobody_known_still_has_people_to_act(clock, cast):
    exam = ExamFactory(ordering_clinician=None)
    finding = services.finding_flag(
        actor=interface_user(),
        accession_number=exam.accession_number,
        category="critical",
        description="From the RIS",
    )
    users = list(User.objects.filter(is_active=True))
    assert_someone_can_act(finding, users, ["HL7, orderer unknown"])
    routers = _people_who_can(finding, users, access.can_route)
    assert cast["radiologist"] in routers and cast["radiologist2"] in routers
