"""Site communication policy: categories, deadlines, read-back rules and the escalation chain.

The defaults follow the ACR practice parameter (critical: direct contact within 1 hour;
significant: within 24 hours; routine: normal report delivery). A site may rename categories
and change every window; a finding keeps the deadline it was given when it was flagged.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from .history import HistoryManager


class Category(models.TextChoices):
    CRITICAL = "critical", "Critical"
    SIGNIFICANT = "significant", "Significant"
    ROUTINE = "routine", "Routine"


class Channel(models.TextChoices):
    PHONE = "phone", "Telephone"
    BLEEP = "bleep", "Bleep / pager"
    IN_PERSON = "in_person", "In person"
    SECURE_MESSAGE = "secure_message", "Secure message"
    EMAIL = "email", "Email"


# A written channel has no read-back: "reached" means delivery was documented.
WRITTEN_CHANNELS = {Channel.SECURE_MESSAGE, Channel.EMAIL}


class Outcome(models.TextChoices):
    READ_BACK = "read_back", "Reached, read back"
    REACHED_NO_READ_BACK = "reached_no_read_back", "Reached, no read-back"
    VOICEMAIL = "voicemail", "Voicemail left"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_PERSON = "wrong_person", "Wrong person"


class EscalationStep(models.TextChoices):
    WARNING_REMINDER = "warning_reminder", "Reminder to the flagging radiologist (warning point)"
    DEADLINE_COVER = "deadline_cover", "Covering colleague of the responsible clinician (deadline)"
    DEADLINE_DEPARTMENT_LEAD = "deadline_department_lead", "Department lead (deadline)"
    BREACH_GOVERNANCE = "breach_governance", "Governance lead (breach)"
    ACK_REMINDER = "ack_reminder", "Reminder to acknowledge (acknowledgement window passed)"


DEFAULT_CHAIN = [
    EscalationStep.WARNING_REMINDER,
    EscalationStep.DEADLINE_COVER,
    EscalationStep.DEADLINE_DEPARTMENT_LEAD,
    EscalationStep.BREACH_GOVERNANCE,
    EscalationStep.ACK_REMINDER,
]

DEFAULT_POLICIES = {
    Category.CRITICAL: {
        "label": "Critical",
        "contact_deadline": timedelta(hours=1),
        "acknowledgement_window": timedelta(hours=1),
        "warning_percent": 50,
        "accepted_channels": [Channel.PHONE, Channel.IN_PERSON],
        "read_back_required": True,
        "reminder_interval": timedelta(minutes=15),
        "max_alerts_per_person_per_hour": 4,
    },
    Category.SIGNIFICANT: {
        "label": "Significant",
        "contact_deadline": timedelta(hours=24),
        "acknowledgement_window": timedelta(hours=24),
        "warning_percent": 50,
        "accepted_channels": [Channel.PHONE, Channel.IN_PERSON, Channel.SECURE_MESSAGE],
        "read_back_required": True,
        "reminder_interval": timedelta(hours=4),
        "max_alerts_per_person_per_hour": 2,
    },
    Category.ROUTINE: {
        "label": "Routine",
        "contact_deadline": None,
        "acknowledgement_window": None,
        "warning_percent": 50,
        "accepted_channels": [c.value for c in Channel],
        "read_back_required": False,
        "reminder_interval": timedelta(days=1),
        "max_alerts_per_person_per_hour": 1,
    },
}


def default_chain():
    return [step.value for step in DEFAULT_CHAIN]


class CommunicationPolicy(models.Model):
    category = models.CharField(max_length=20, choices=Category.choices, unique=True)
    label = models.CharField(
        max_length=60, help_text="The site's name for this category, e.g. 'Urgent'."
    )
    contact_deadline = models.DurationField(
        null=True,
        blank=True,
        help_text="From flagging to read-back. Empty: no deadline (normal report delivery).",
    )
    acknowledgement_window = models.DurationField(
        null=True, blank=True, help_text="From communication to the referrer's acknowledgement."
    )
    warning_percent = models.PositiveSmallIntegerField(
        default=50, help_text="Remind the radiologist at this % of the contact window."
    )
    accepted_channels = models.JSONField(
        default=list, help_text="Channels through which this category counts as communicated."
    )
    read_back_required = models.BooleanField(
        default=True, help_text="Spoken contact counts only with a read-back."
    )
    escalation_chain = models.JSONField(default=default_chain)
    reminder_interval = models.DurationField(default=timedelta(minutes=15))
    max_alerts_per_person_per_hour = models.PositiveSmallIntegerField(default=4)
    history = HistoricalRecords(history_manager=HistoryManager)

    class Meta:
        verbose_name_plural = "communication policies"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(warning_percent__gte=1, warning_percent__lte=100),
                name="policy_warning_percent_1_to_100",
            ),
        ]

    def __str__(self):
        return self.label

    def clean(self):
        channels = {c.value for c in Channel}
        unknown = [c for c in self.accepted_channels or [] if c not in channels]
        if unknown:
            raise ValidationError({"accepted_channels": f"Unknown channel(s): {unknown}."})
        if not self.accepted_channels:
            raise ValidationError({"accepted_channels": "Accept at least one channel."})
        steps = {s.value for s in EscalationStep}
        unknown = [s for s in self.escalation_chain or [] if s not in steps]
        if unknown:
            raise ValidationError({"escalation_chain": f"Unknown step(s): {unknown}."})
        for field in ("contact_deadline", "acknowledgement_window", "reminder_interval"):
            value = getattr(self, field)
            if value is not None and value <= timedelta(0):
                raise ValidationError({field: "Must be longer than zero."})

    @classmethod
    def for_category(cls, category):
        """The policy in force; falls back to the built-in default if a site deleted its row."""
        policy = cls.objects.filter(category=category).first()
        return policy or cls(category=category, **DEFAULT_POLICIES[Category(category)])

    def warning_offset(self):
        if self.contact_deadline is None:
            return None
        return self.contact_deadline * self.warning_percent / 100

    def counts_as_communicated(self, channel, outcome):
        """Whether an attempt closes the contact step for this category.

        Critical (default): only a read-back by phone or in person. Significant: also a documented
        secure message. Routine: any reached contact.
        """
        if channel not in self.accepted_channels:
            return False
        if outcome == Outcome.READ_BACK:
            return channel not in WRITTEN_CHANNELS
        if outcome == Outcome.REACHED_NO_READ_BACK:
            return channel in WRITTEN_CHANNELS or not self.read_back_required
        return False
