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


# The steps taken when contact is late, in the order they reach people.
CONTACT_CHAIN = [
    EscalationStep.WARNING_REMINDER,
    EscalationStep.DEADLINE_COVER,
    EscalationStep.DEADLINE_DEPARTMENT_LEAD,
    EscalationStep.BREACH_GOVERNANCE,
]

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
            # The floor no site may go below: a critical result is read back (clean() also
            # keeps it to spoken channels and a chain that ends at governance).
            models.CheckConstraint(
                condition=~models.Q(category=Category.CRITICAL)
                | models.Q(read_back_required=True, contact_deadline__isnull=False),
                name="policy_critical_needs_read_back_and_deadline",
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
        self._clean_safety_floors()

    def _clean_safety_floors(self):
        """What no site may configure away (ACR, RCR): a critical result is spoken and read
        back, and a missed deadline always reaches someone who can act, ending at governance."""
        if self.category == Category.CRITICAL:
            if not self.read_back_required:
                raise ValidationError(
                    {"read_back_required": "A critical result must be read back."}
                )
            written = [c for c in self.accepted_channels or [] if c in WRITTEN_CHANNELS]
            if written:
                raise ValidationError(
                    {
                        "accepted_channels": "A critical result needs direct contact by voice "
                        f"or in person; remove {', '.join(written)}."
                    }
                )
            if self.contact_deadline is None:
                raise ValidationError(
                    {"contact_deadline": "A critical result must have a contact deadline."}
                )
        if self.contact_deadline is not None:
            contact_steps = [s for s in self.escalation_chain or [] if s in CONTACT_CHAIN]
            if not contact_steps or contact_steps[-1] != EscalationStep.BREACH_GOVERNANCE:
                raise ValidationError(
                    {
                        "escalation_chain": "A category with a deadline needs an escalation "
                        "chain that ends at governance (breach_governance last)."
                    }
                )

    @classmethod
    def for_category(cls, category):
        """The policy in force; falls back to the built-in default if a site deleted its row."""
        policy = cls.objects.filter(category=category).first()
        return policy or cls(category=category, **DEFAULT_POLICIES[Category(category)])

    def warning_offset(self):
        if self.contact_deadline is None:
            return None
        return self.contact_deadline * self.warning_percent / 100

    def contact_verdict(self, channel, outcome):
        """Whether an attempt closes the contact step for this category, and if not, why not
        (in words for the caller, before and after saving).

        Critical (default): only a read-back by phone or in person. Significant: also a documented
        secure message. Routine: any reached contact.
        """
        label = self.label or self.get_category_display()
        channel_label = Channel(channel).label if channel in Channel.values else channel
        if outcome not in (Outcome.READ_BACK, Outcome.REACHED_NO_READ_BACK):
            return False, "Nobody was reached: the finding stays open."
        if channel not in (self.accepted_channels or []):
            accepted = ", ".join(
                Channel(c).label.lower()
                for c in self.accepted_channels or []
                if c in Channel.values
            )
            return False, (
                f"{channel_label} does not count for a {label.lower()} finding "
                f"(policy accepts: {accepted})."
            )
        if outcome == Outcome.READ_BACK and channel in WRITTEN_CHANNELS:
            return False, f"A {channel_label.lower()} is not read back: choose how it was."
        spoken = channel not in WRITTEN_CHANNELS
        if outcome == Outcome.REACHED_NO_READ_BACK and spoken and self.read_back_required:
            return False, f"A {label.lower()} finding counts only when the result is read back."
        return True, ""

    def counts_as_communicated(self, channel, outcome):
        return self.contact_verdict(channel, outcome)[0]
