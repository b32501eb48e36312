from .escalation import NotificationAttempt
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
from .people import Department, Exam, Modality, Patient, Role, User
from .policy import Category, Channel, CommunicationPolicy, EscalationStep, Outcome

__all__ = [
    "Acknowledgement",
    "BreachReason",
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
    "Handover",
    "HandoverKind",
    "Modality",
    "NotificationAttempt",
    "Outcome",
    "Patient",
    "PlannedAction",
    "Role",
    "Status",
    "User",
]
