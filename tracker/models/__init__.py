from .audit import AuditChainHead, AuditEntry, FindingAccess
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
from .governance import BreachReview, ReviewOutcome
from .health import Heartbeat
from .interfaces import IdempotencyRecord, InboundMessage, MessageStatus, ProviderIdentifier
from .people import Department, Exam, IdentifierKind, Modality, Patient, Role, User
from .policy import Category, Channel, CommunicationPolicy, EscalationStep, Outcome

__all__ = [
    "Acknowledgement",
    "AuditChainHead",
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
    "Heartbeat",
    "IdempotencyRecord",
    "IdentifierKind",
    "InboundMessage",
    "MessageStatus",
    "Modality",
    "NotificationAttempt",
    "Outcome",
    "Patient",
    "PlannedAction",
    "ReviewOutcome",
    "ProviderIdentifier",
    "Role",
    "Status",
    "User",
]
