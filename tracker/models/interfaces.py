"""What other systems send us: HL7 v2 messages (with their dead letters) and API retries.

Inbound messages are kept whole, raw bytes included, whatever happened to them: a message the
tracker could not process waits in the dead-letter list (status `error` / `rejected`) until an
administrator re-processes it. Nothing here is ever deleted.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .. import clock
from .history import HistoryManager


class MessageStatus(models.TextChoices):
    RECEIVED = "received", "Received (being processed)"
    PROCESSED = "processed", "Processed (AA)"
    ERROR = "error", "Application error (AE): dead letter"
    REJECTED = "rejected", "Rejected (AR): dead letter"


DEAD_LETTER_STATUSES = [MessageStatus.ERROR, MessageStatus.REJECTED]


class InboundMessageQuerySet(models.QuerySet):
    def dead_letters(self):
        return self.filter(status__in=DEAD_LETTER_STATUSES)


class InboundMessage(models.Model):
    """One HL7 v2 message as received, with the ACK we answered and what it created."""

    class EntryPoint(models.TextChoices):
        MLLP = "mllp", "MLLP"
        HTTP = "http", "HTTP"
        REPROCESS = "reprocess", "Re-processed"

    # Sending facility/application and MSH-10: a resend with the same key is answered with the
    # stored ACK and records nothing new. Empty when the MSH could not be read.
    message_key = models.CharField(max_length=250, blank=True)
    control_id = models.CharField("MSH-10 control id", max_length=199, blank=True)
    sender = models.CharField("MSH-3/MSH-4 sender", max_length=200, blank=True)
    message_type = models.CharField(max_length=40, blank=True)
    version = models.CharField(max_length=10, blank=True)
    entry_point = models.CharField(max_length=10, choices=EntryPoint.choices)
    raw = models.BinaryField(help_text="The message exactly as received (bytes).")
    received_at = models.DateTimeField(default=clock.now, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=MessageStatus.choices, default=MessageStatus.RECEIVED
    )
    ack_code = models.CharField("MSA-1", max_length=2, blank=True)
    ack = models.TextField("ACK sent", blank=True)
    error = models.TextField(blank=True, help_text="Why it was not processed.")
    error_location = models.CharField(max_length=40, blank=True, help_text="e.g. PID-3, OBR-16")
    attempts = models.PositiveIntegerField(default=1)
    exam = models.ForeignKey(
        "tracker.Exam",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_messages",
    )
    finding = models.ForeignKey(
        "tracker.Finding",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_messages",
    )
    reprocessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    objects = InboundMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        permissions = [
            ("submit_hl7", "Can submit HL7 v2 messages over HTTP"),
            ("reprocess_inboundmessage", "Can re-process HL7 dead letters"),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=Q(status__in=["error", "rejected"]),
                name="inbound_dead_letter_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["message_key"],
                condition=~Q(message_key=""),
                name="inbound_message_key_once",
            ),
        ]

    def __str__(self):
        return f"{self.message_type or 'HL7'} {self.control_id or '(no MSH-10)'} {self.status}"

    @property
    def is_dead_letter(self):
        return self.status in DEAD_LETTER_STATUSES

    @property
    def text(self):
        """The raw bytes for display: undecodable bytes shown as replacement characters."""
        return bytes(self.raw).decode("utf-8", errors="replace")


class ProviderIdentifier(models.Model):
    """How another system names one of our clinicians (e.g. the RIS's id in OBR-16 / ORC-12)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="provider_identifiers"
    )
    value = models.CharField(max_length=64, help_text="e.g. GMC number or RIS provider code")
    assigning_authority = models.CharField(
        max_length=64, blank=True, help_text="Optional, e.g. GMC. Empty matches any."
    )
    history = HistoricalRecords(history_manager=HistoryManager)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["value", "assigning_authority"], name="provider_identifier_once"
            )
        ]

    def __str__(self):
        return f"{self.assigning_authority or '*'}:{self.value} → {self.user}"


class IdempotencyRecord(models.Model):
    """The first response to an API POST with an Idempotency-Key, replayed on a retry."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")
        ]

    def __str__(self):
        return f"{self.method} {self.path} [{self.key}] → {self.status_code}"
