import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from rest_framework.authtoken.models import Token

from tests.factories import ExamFactory, ReferrerFactory, UserFactory
from tracker import clock as server_clock
from tracker.audit.access import access_record
from tracker.hl7 import ingest as hl7_ingest
from tracker.models import (
    Channel,
    Escalation,
    EscalationStep,
    NotificationAttempt,
    Outcome,
    PlannedAction,
    ProviderIdentifier,
    Role,
)
from tracker.services import findings as services


@pytest.fixture
def seal_file(settings, tmp_path):
    settings.AUDIT_SEAL_PATH = str(tmp_path / "seals.jsonl")
    return tmp_path / "seals.jsonl"


@pytest.fixture
def administrator(db):
    return UserFactory(
        username="administrator", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True
    )


@pytest.fixture
def world(clock, flag, radiologist, referrer, governance, administrator):
    """One object of every kind the admin lists, so every admin URL is asked about a real row:
    an acknowledged finding, a handed-over finding, an escalation, a read, a failed login, a
    group and beat schedules. Returns (users by role, objects by kind)."""
    finding = flag()
    attempt = services.attempt_log(
        actor=radiologist,
        finding=finding,
        channel=Channel.PHONE,
        outcome=Outcome.READ_BACK,
        contacted_user=referrer,
    )
    services.finding_acknowledge(
        actor=referrer, finding=finding, planned_action=PlannedAction.ADMITTED
    )
    colleague = ReferrerFactory(username="colleague")
    other = flag(accession_number=ExamFactory(ordering_clinician=referrer).accession_number)
    services.finding_hand_over(
        actor=referrer, finding=other, to_clinician=colleague, reason="Going off shift"
    )
    escalation = Escalation(
        finding=other,
        step=EscalationStep.values[0],
        recipient=radiologist,
        due_at=server_clock.now(),
    )
    escalation.save()
    NotificationAttempt(
        escalation=escalation, channel="email", succeeded=True, detail="250 OK"
    ).save()
    access_record(user=governance, finding=finding, via="test")
    access_record(user=governance, patient=finding.exam.patient, via="test")
    # (Not a user signed in below: a successful login resets that user's failure records.)
    Client().post("/accounts/login/", {"username": "nobody", "password": "wrong-password"})
    Group.objects.create(name="Clinical leads")
    every = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    CrontabSchedule.objects.create(minute="0")
    SolarSchedule.objects.create(event="sunrise", latitude=51.5, longitude=-0.1)
    ClockedSchedule.objects.create(clocked_time=server_clock.now())
    PeriodicTask.objects.create(name="seal", task="tracker.audit.seal_audit_chain", interval=every)
    # Integration records: an API token, a dead-lettered HL7 message, a RIS provider id.
    Token.objects.create(user=radiologist)
    hl7_ingest.receive(b"MSH|^~\\&|RIS|HOSP\rPID|||", entry_point="http")
    ProviderIdentifier.objects.create(user=referrer, value="GMC1234567")
    users = {
        "anonymous": None,
        "radiologist": radiologist,
        "referrer": referrer,
        "governance": governance,
        "administrator": administrator,
    }
    return users, {"finding": finding, "attempt": attempt, "user": referrer}
