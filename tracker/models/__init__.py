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
from .interfaces import IdempotencyRecord, InboundMessage, MessageStatus, ProviderIdentifier
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
    "IdempotencyRecord",
    "InboundMessage",
    "MessageStatus",
    "Modality",
    "Outcome",
    "Patient",
    "PlannedAction",
    "ProviderIdentifier",
    "Role",
    "Status",
    "User",
]
