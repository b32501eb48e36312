"""Every attempt to deliver an escalation, on every channel, with its result."""

from django.db import models
from simple_history.models import HistoricalRecords

from .. import clock
from .findings import Escalation
from .history import HistoryManager


class NotificationAttempt(models.Model):
    escalation = models.ForeignKey(
        Escalation, on_delete=models.PROTECT, related_name="notification_attempts"
    )
    channel = models.CharField(max_length=20)  # a name from tracker.notify.CHANNELS
    attempted_at = models.DateTimeField(default=clock.now, editable=False)
    succeeded = models.BooleanField(default=False)
    # What the channel said: the SMTP answer, the webhook's HTTP status, or the error.
    detail = models.TextField(blank=True)
    history = HistoricalRecords(history_manager=HistoryManager)

    class Meta:
        ordering = ["attempted_at", "id"]
        indexes = [
            models.Index(fields=["escalation", "channel", "succeeded"], name="notify_attempt_idx")
        ]

    def __str__(self):
        result = "delivered" if self.succeeded else "failed"
        return f"{self.channel} {result} for escalation {self.escalation_id}"
