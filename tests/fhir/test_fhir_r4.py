"""FHIR R4 view: Communication per attempt, Task for the acknowledgement, Flag for the category.
Every resource is validated against R4 (fhir.resources) and read with a FHIR client library."""

from datetime import UTC, datetime, timedelta

import pytest
from fhirclient import server as fhir_server
from fhirclient.models.communication import Communication
from fhirclient.models.flag import Flag
from fhirclient.models.task import Task
from rest_framework.authtoken.models import Token

from tracker.services import findings as services

from .conftest import validate_r4

pytestmark = pytest.mark.django_db


def at(hour, minute):
    return datetime(2026, 11, 23, hour, minute, tzinfo=UTC)


@pytest.fixture
def story(clock, flag, radiologist, referrer):
    """A critical finding: a missed bleep, then a read-back by phone 12 minutes in."""
    finding = flag()
    clock.shift(timedelta(minutes=5))
    services.attempt_log(
        actor=radiologist, finding=finding, channel="bleep", outcome="no_answer",
        contacted_user=referrer,
    )  # fmt: skip
    clock.shift(timedelta(minutes=7))
    services.attempt_log(
        actor=radiologist, finding=finding, channel="phone", outcome="read_back",
        contacted_user=referrer, notes="Read back correctly.",
    )  # fmt: skip
    finding.refresh_from_db()
    return finding


def test_each_attempt_is_a_communication_about_the_report(story, fhir_get, referrer, radiologist):
    response = fhir_get(referrer, "Communication", accession=story.exam.accession_number)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = response.json()
    validate_r4(bundle)
    assert bundle["type"] == "searchset" and bundle["total"] == 2
    missed, reached = (validate_r4(e["resource"]) for e in bundle["entry"])
    assert missed.status == "not-done" and missed.statusReason.text == "No answer"
    assert missed.received is None
    assert reached.status == "completed"
    assert reached.sent.datetime == at(14, 12)
    assert reached.received.datetime == at(14, 12)
    assert reached.priority == "stat"
    assert reached.sender.identifier.value == radiologist.username
    assert reached.recipient[0].identifier.value == referrer.username
    assert reached.payload[0].contentString == "Large right pneumothorax."
    assert reached.about[0].type == "DiagnosticReport"
    assert reached.about[0].identifier.value == story.exam.accession_number
    assert reached.medium[0].coding[0].code == "PHONE"


def test_the_pending_acknowledgement_is_a_requested_task_owned_by_the_responsible_clinician(
    story, fhir_get, referrer
):
    response = fhir_get(referrer, f"Task/{story.pk}")

    task = validate_r4(response.json())
    assert task.status == "requested" and task.intent == "order"
    assert task.owner.identifier.value == referrer.username
    assert task.restriction.period.end.datetime == at(15, 12)  # 1 h to acknowledge
    assert task.focus.identifier.value == story.exam.accession_number


def test_an_acknowledged_finding_completes_its_task_with_the_planned_action(
    story, clock, fhir_get, referrer
):
    services.finding_acknowledge(actor=referrer, finding=story, planned_action="admitted")

    task = validate_r4(fhir_get(referrer, f"Task/{story.pk}").json())

    assert task.status == "completed"
    assert task.output[0].valueString == "Admitted / sent to ED"
    assert [t["resource"]["id"] for t in fhir_get(referrer, "Task", status="completed").json()[
        "entry"
    ]] == [str(story.pk)]  # fmt: skip


def test_the_category_is_an_active_flag(story, fhir_get, radiologist):
    flag = validate_r4(fhir_get(radiologist, f"Flag/{story.pk}").json())

    assert flag.status == "active"
    assert flag.code.coding[0].code == "critical"
    assert flag.subject.identifier.value == story.exam.patient.identifier
    assert flag.period.start.datetime == at(14, 0)


def test_the_capability_statement_is_public_and_valid_r4(db, fhir_get):
    response = fhir_get(None, "metadata")

    statement = validate_r4(response.json())
    assert statement.fhirVersion == "4.0.1"
    assert {r.type for r in statement.rest[0].resource} == {"Communication", "Task", "Flag"}


def test_a_stranger_finds_nothing_and_reads_a_404_operation_outcome(story, fhir_get, stranger):
    search = fhir_get(stranger, "Communication")
    read = fhir_get(stranger, f"Flag/{story.pk}")

    assert validate_r4(search.json()).total == 0
    assert read.status_code == 404
    outcome = validate_r4(read.json())
    assert outcome.issue[0].code == "not-found"


def test_anonymous_access_is_a_401_operation_outcome(story, fhir_get):
    response = fhir_get(None, "Task")

    assert response.status_code == 401
    assert validate_r4(response.json()).issue[0].code == "login"


@pytest.mark.django_db(transaction=True)
def test_a_fhir_client_reads_and_searches_over_http(live_server, flag, radiologist, referrer):
    finding = flag()
    services.attempt_log(
        actor=radiologist, finding=finding, channel="phone", outcome="read_back",
        contacted_user=referrer,
    )  # fmt: skip
    server = fhir_server.FHIRServer(None, base_uri=f"{live_server.url}/fhir/r4/")
    server.session.headers["Authorization"] = f"Token {Token.objects.create(user=referrer).key}"

    communications = list(
        Communication.where(
            struct={"accession": finding.exam.accession_number}
        ).perform_resources_iter(server)
    )
    task = Task.read(str(finding.pk), server)
    flag_resource = Flag.read(str(finding.pk), server)
    capability = server.capabilityStatement
    server.session.close()  # no keep-alive connection left for the live server to reset

    assert [c.status for c in communications] == ["completed"]
    assert communications[0].recipient[0].display == referrer.display_name
    assert task.status == "requested" and task.owner.display == referrer.display_name
    assert flag_resource.code.coding[0].code == "critical"
    assert capability.fhirVersion == "4.0.1"
