"""The tracker's records as FHIR R4 resources (JSON dicts).

- each communication attempt -> `Communication` (sender, recipient, sent, received, payload,
  `about` the report, priority from the category);
- each finding's pending acknowledgement -> `Task` (owner = the responsible clinician);
- each finding's category -> `Flag`.
People and reports are referenced logically (by identifier), since this server does not serve
Patient, Practitioner or DiagnosticReport resources.
"""

from django.conf import settings

from ..models import Category, Outcome, Status
from ..models.findings import OPEN_STATUSES
from ..models.policy import Channel

FHIR_VERSION = "4.0.1"
COMMUNICATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/communication-category"
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"

PRIORITY = {Category.CRITICAL: "stat", Category.SIGNIFICANT: "urgent", Category.ROUTINE: "routine"}
MEDIUM = {
    Channel.PHONE: ("PHONE", "telephone"),
    Channel.BLEEP: ("ELECTRONIC", "electronic data"),
    Channel.IN_PERSON: ("FACE", "face-to-face"),
    Channel.SECURE_MESSAGE: ("ONLINEWRIT", "online written"),
    Channel.EMAIL: ("EMAILWRIT", "email"),
}
REACHED = {Outcome.READ_BACK, Outcome.REACHED_NO_READ_BACK}
TASK_STATUS = {
    Status.AWAITING_CONTACT: "draft",  # nothing to acknowledge until the result is read back
    Status.COMMUNICATED: "requested",
    Status.ACKNOWLEDGED: "completed",
    Status.CLOSED: "completed",
    Status.CANCELLED: "cancelled",
    Status.ENTERED_IN_ERROR: "entered-in-error",
}


def system(name):
    return f"{settings.FHIR_IDENTIFIER_BASE}/{name}"


def instant(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def _clean(resource):
    """Drop empty elements: FHIR forbids null and empty arrays/objects."""
    if isinstance(resource, dict):
        cleaned = {k: _clean(v) for k, v in resource.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(resource, list):
        return [c for c in (_clean(v) for v in resource) if c not in (None, "", [], {})]
    return resource


def practitioner(user):
    if user is None:
        return None
    return {
        "type": "Practitioner",
        "identifier": {"system": system("username"), "value": user.username},
        "display": user.display_name,
    }


def patient(exam):
    person = exam.patient
    name = f"{person.family_name.upper()}, {person.given_name}".strip(", ")
    return {
        "type": "Patient",
        "identifier": {"system": system("patient-identifier"), "value": person.identifier},
        "display": name,
    }


def report(exam):
    return {
        "type": "DiagnosticReport",
        "identifier": {"system": system("accession-number"), "value": exam.accession_number},
        "display": str(exam),
    }


def communication(attempt):
    finding = attempt.finding
    exam = finding.exam
    code, display = MEDIUM[attempt.channel]
    reached = attempt.outcome in REACHED or attempt.outcome == Outcome.VOICEMAIL
    recipient = practitioner(attempt.contacted_user) or {
        "display": " ".join(p for p in (attempt.contact_name, attempt.contact_role) if p)
    }
    return _clean(
        {
            "resourceType": "Communication",
            "id": str(attempt.pk),
            "identifier": [{"system": system("communication"), "value": str(attempt.pk)}],
            "status": "completed" if reached else "not-done",
            "statusReason": None if reached else {"text": attempt.get_outcome_display()},
            "category": [
                {
                    "coding": [
                        {"system": COMMUNICATION_CATEGORY, "code": "alert", "display": "Alert"}
                    ]
                }
            ],
            "priority": PRIORITY[finding.category],
            "medium": [
                {
                    "coding": [{"system": PARTICIPATION_MODE, "code": code, "display": display}],
                    "text": attempt.get_channel_display(),
                }
            ],
            "subject": patient(exam),
            "topic": {"text": f"{finding.get_category_display()} result: {exam}"},
            "about": [report(exam)],
            "sent": instant(attempt.attempted_at),
            "received": instant(attempt.attempted_at) if attempt.outcome in REACHED else None,
            "recipient": [recipient],
            "sender": practitioner(attempt.caller),
            "payload": [{"contentString": finding.description}],
            "note": [
                {"text": f"Outcome: {attempt.get_outcome_display()}"},
                {"text": attempt.notes} if attempt.notes else None,
            ],
        }
    )


def task(finding):
    exam = finding.exam
    ack = getattr(finding, "acknowledgement", None) if finding.acknowledged_at else None
    return _clean(
        {
            "resourceType": "Task",
            "id": str(finding.pk),
            "identifier": [{"system": system("finding"), "value": str(finding.pk)}],
            "status": TASK_STATUS[finding.status],
            "businessStatus": {"text": finding.get_status_display()},
            "intent": "order",
            "priority": PRIORITY[finding.category],
            "code": {"text": "Acknowledge receipt of the result and the action planned"},
            "description": finding.description,
            "focus": report(exam),
            "for": patient(exam),
            "authoredOn": instant(finding.flagged_at),
            "requester": practitioner(finding.flagged_by),
            "owner": practitioner(finding.responsible_clinician),
            "executionPeriod": {
                "start": instant(finding.communicated_at),
                "end": instant(finding.acknowledged_at),
            },
            "restriction": {"period": {"end": instant(finding.acknowledgement_due_at)}},
            "output": [
                {
                    "type": {"text": "Planned action"},
                    "valueString": ack.get_planned_action_display(),
                }
            ]
            if ack
            else None,
        }
    )


def flag(finding):
    exam = finding.exam
    if finding.status == Status.ENTERED_IN_ERROR:
        status = "entered-in-error"
    else:
        status = "active" if finding.status in OPEN_STATUSES else "inactive"
    label = finding.get_category_display()
    return _clean(
        {
            "resourceType": "Flag",
            "id": str(finding.pk),
            "identifier": [{"system": system("finding"), "value": str(finding.pk)}],
            "status": status,
            "category": [
                {"coding": [{"system": FLAG_CATEGORY, "code": "clinical", "display": "Clinical"}]}
            ],
            "code": {
                "coding": [
                    {
                        "system": system("finding-category"),
                        "code": finding.category,
                        "display": label,
                    }
                ],
                "text": f"{label} imaging result",
            },
            "subject": patient(exam),
            "period": {"start": instant(finding.flagged_at), "end": instant(finding.closed_at)},
            "author": practitioner(finding.flagged_by),
        }
    )


SEARCH_PARAMS = {
    "Communication": ["_id", "accession", "patient-identifier", "status"],
    "Task": ["_id", "accession", "patient-identifier", "status", "owner"],
    "Flag": ["_id", "accession", "patient-identifier", "status"],
}


def capability_statement(base_url, date):
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "Critical result tracker",
        "kind": "instance",
        "software": {"name": "Critical result tracker"},
        "implementation": {
            "description": "Critical result communication: Communication, Task and Flag (read)",
            "url": base_url,
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Token (Authorization: Token <key>) or session authentication."
                },
                "resource": [
                    {
                        "type": name,
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [{"name": p, "type": "token"} for p in params],
                    }
                    for name, params in SEARCH_PARAMS.items()
                ],
            }
        ],
    }


def operation_outcome(code, diagnostics, severity="error"):
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }
