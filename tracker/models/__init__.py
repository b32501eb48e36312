from .audit import AuditEntry, FindingAccess
from .findings import (
    Acknowledgement,
    BreachReason,
    CommunicationAttempt,
    Escalation,
    EscalationStatus,
    Finding,
    Handover,
    HandoverKind,
    PlannedAction,
    Status,
)
from .governance import BreachReview, ReviewOutcome
from .people import Department, Exam, Modality, Patient, Role, User
from .policy import Category, Channel, CommunicationPolicy, EscalationStep, Outcome

__all__ = [
    "Acknowledgement",
    "AuditEntry",
    "BreachReason",
    "BreachReview",
    "Category",
    "Channel",
    "CommunicationAttempt",
    "CommunicationPolicy",
    "Department",
    "Escalation",
    "EscalationStatus",
    "EscalationStep",
    "Exam",
    "Finding",
    "FindingAccess",
    "Handover",
    "HandoverKind",
    "Modality",
    "Outcome",
    "Patient",
    "PlannedAction",
    "ReviewOutcome",
    "Role",
    "Status",
    "User",
]
