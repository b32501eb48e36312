"""A finding and everything that happens to it on the way to the accountable clinician."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from .. import clock
from ..governance.expressions import Seconds
from .history import HistoryManager
from .people import Exam
from .policy import Category, Channel, EscalationStep, Outcome


class Status(models.TextChoices):
    AWAITING_CONTACT = "awaiting_contact", "Awaiting contact"
    # "Communicated" means a contact that qualifies under the category's policy (read back where
    # the policy needs it); the timeline and statement say how, never this label.
    COMMUNICATED = "communicated", "Communicated"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


# The only moves a finding's status may make. Services consult this table and nothing else.
TRANSITIONS = {
    Status.AWAITING_CONTACT: {Status.COMMUNICATED, Status.CANCELLED, Status.ENTERED_IN_ERROR},
    # Back to awaiting contact only when the clinician told declines it ("not my patient").
    Status.COMMUNICATED: {
        Status.ACKNOWLEDGED,
        Status.AWAITING_CONTACT,
        Status.CANCELLED,
        Status.ENTERED_IN_ERROR,
    },
    Status.ACKNOWLEDGED: {Status.CLOSED, Status.CANCELLED, Status.ENTERED_IN_ERROR},
    Status.CLOSED: {Status.ENTERED_IN_ERROR},
    Status.CANCELLED: set(),
    Status.ENTERED_IN_ERROR: set(),
}
OPEN_STATUSES = [Status.AWAITING_CONTACT, Status.COMMUNICATED, Status.ACKNOWLEDGED]
VOIDED_STATUSES = [Status.CANCELLED, Status.ENTERED_IN_ERROR]


class BreachReason(models.TextChoices):
    REFERRER_UNREACHABLE = "referrer_unreachable", "Referrer unreachable"
    WRONG_CONTACT_DETAILS = "wrong_contact_details", "Wrong contact details"
    RADIOLOGIST_DELAY = "radiologist_delay", "Radiologist delay"
    SYSTEM_FAILURE = "system_failure", "System failure"
    OTHER = "other", "Other"


class PlannedAction(models.TextChoices):
    PATIENT_CONTACTED = "patient_contacted", "Patient contacted / recalled"
    ADMITTED = "admitted", "Admitted / sent to ED"
    TREATMENT_STARTED = "treatment_started", "Treatment started or changed"
    REFERRED = "referred", "Referred to specialist"
    FURTHER_IMAGING = "further_imaging", "Further imaging or tests arranged"
    ALREADY_ACTIONED = "already_actioned", "Already known and actioned"
    OTHER = "other", "Other (see note)"


def breached_condition(now):
    """The one definition of a breach: read back after the deadline, or not read back with the
    deadline gone (voided findings are left out by the callers)."""
    return Q(communicated_at__gt=F("contact_due_at")) | Q(
        communicated_at__isnull=True, contact_due_at__lt=now
    )


def on_time_condition():
    """Read back by the deadline (a finding without a deadline is on time once read back)."""
    return Q(communicated_at__isnull=False) & (
        Q(contact_due_at__isnull=True) | Q(communicated_at__lte=F("contact_due_at"))
    )


@dataclass(frozen=True)
class DeadlineState:
    """What the worklists show: a pure function of the stored deadlines and `now`."""

    state: str  # "none", "on_track", "warning", "overdue", "met", "late"
    remaining: timedelta | None  # negative when overdue

    @property
    def is_overdue(self):
        return self.state == "overdue"


class FindingQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def awaiting_contact(self):
        return self.filter(status=Status.AWAITING_CONTACT)

    def overdue(self, now=None):
        """Past the contact deadline with no successful communication yet."""
        now = now or clock.now()
        return self.awaiting_contact().filter(contact_due_at__lt=now)

    def due_within(self, delta, now=None):
        """Not yet overdue, and due in the next `delta`."""
        now = now or clock.now()
        return self.awaiting_contact().filter(
            contact_due_at__gte=now, contact_due_at__lte=now + delta
        )

    def unacknowledged(self):
        """Communicated, waiting for the responsible clinician to acknowledge."""
        return self.filter(status=Status.COMMUNICATED)

    def acknowledgement_overdue(self, now=None):
        now = now or clock.now()
        return self.unacknowledged().filter(acknowledgement_due_at__lt=now)

    def communicated_on_time(self):
        return self.exclude(status__in=VOIDED_STATUSES).filter(on_time_condition())

    def breached(self, now=None):
        """Communicated after the deadline, or still not communicated with the deadline gone."""
        now = now or clock.now()
        return self.exclude(status__in=VOIDED_STATUSES).filter(breached_condition(now))

    def for_worklist(self):
        return self.select_related(
            "exam__patient",
            "exam__referring_department",
            "flagged_by",
            "responsible_clinician__department",
        )


class Finding(models.Model):
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="findings")
    description = models.TextField()
    category = models.CharField(max_length=20, choices=Category.choices)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.AWAITING_CONTACT, editable=False
    )
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="findings_flagged"
    )
    flagged_at = models.DateTimeField(editable=False)
    # Exactly one accountable clinician at any moment: a single non-null reference. While the
    # finding is unrouted (ordering clinician unknown, or declined) it is the radiologist (or the
    # radiology duty account) who must route it.
    responsible_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="findings_responsible"
    )
    unrouted = models.BooleanField(
        default=False,
        editable=False,
        help_text="No referrer is accountable yet: the radiologist responsible must route it.",
    )
    # Deadlines are fixed when flagged (from the policy then in force) and stored, so that a
    # later policy change does not move them and the sweep asks one indexed question.
    contact_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    warning_at = models.DateTimeField(null=True, blank=True, editable=False)
    acknowledgement_window = models.DurationField(null=True, blank=True, editable=False)
    communicated_at = models.DateTimeField(null=True, blank=True, editable=False)
    acknowledgement_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    breach_reason = models.CharField(max_length=30, choices=BreachReason.choices, blank=True)
    breach_reason_text = models.TextField(blank=True)
    void_reason = models.TextField(
        blank=True, help_text="Why it was cancelled or marked entered-in-error."
    )
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # When the escalation engine must look at this finding next (tracker.escalation). Set to the
    # earliest stored deadline on every change made through a service; advanced by the engine.
    # Scheduling state, not clinical state: kept out of the history.
    next_escalation_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Time to contact (flagged -> read back) and to acknowledgement (read back -> acknowledged)
    # in seconds, computed by the database from the two timestamps on every write, so no write
    # path can leave them out of step; NULL until both exist. The report's percentiles sort
    # these instead of computing an expression per row (docs/benchmarks.md, issue 5). Derived
    # from columns the history records, so not recorded again.
    seconds_to_contact = models.GeneratedField(
        expression=Seconds("communicated_at", "flagged_at"),
        output_field=models.FloatField(),
        db_persist=True,
    )
    seconds_to_acknowledgement = models.GeneratedField(
        expression=Seconds("acknowledged_at", "communicated_at"),
        output_field=models.FloatField(),
        db_persist=True,
    )
    history = HistoricalRecords(
        history_manager=HistoryManager,
        excluded_fields=[
            "next_escalation_at",
            "seconds_to_contact",
            "seconds_to_acknowledgement",
        ],
    )

    objects = FindingQuerySet.as_manager()

    class Meta:
        ordering = ["contact_due_at", "flagged_at"]
        indexes = [
            # What the worklists and the escalation sweep ask: open findings by due time.
            models.Index(
                fields=["contact_due_at"],
                condition=Q(status="awaiting_contact"),
                name="finding_awaiting_due_idx",
            ),
            models.Index(
                fields=["acknowledgement_due_at"],
                condition=Q(status="communicated"),
                name="finding_unack_due_idx",
            ),
            models.Index(
                fields=["responsible_clinician", "status"], name="finding_responsible_idx"
            ),
            models.Index(fields=["flagged_at"], name="finding_flagged_at_idx"),
            # The escalation sweep's one question: what is due now?
            models.Index(
                fields=["next_escalation_at"],
                condition=Q(next_escalation_at__isnull=False),
                name="finding_next_escalation_idx",
            ),
            models.Index(fields=["category", "flagged_at"], name="finding_category_idx"),
            # The governance compliance report: every column it reads for a flagged_at range,
            # so PostgreSQL answers it with an index-only scan (tracker/governance/report.py).
            models.Index(
                fields=[
                    "flagged_at",
                    "status",
                    "category",
                    "contact_due_at",
                    "communicated_at",
                    "acknowledged_at",
                    "breach_reason",
                    "flagged_by",
                    "responsible_clinician",
                ],
                name="finding_report_idx",
            ),
            # The report's percentiles read only findings with a deadline that were read back
            # (about half): their own narrower index, with the two stored times, so that scan
            # reads half the entries and nothing else.
            models.Index(
                fields=[
                    "flagged_at",
                    "status",
                    "category",
                    "flagged_by",
                    "responsible_clinician",
                    "seconds_to_contact",
                    "seconds_to_acknowledgement",
                ],
                condition=Q(contact_due_at__isnull=False, communicated_at__isnull=False),
                name="finding_contact_times_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=VOIDED_STATUSES) | ~Q(void_reason=""),
                name="finding_voided_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(communicated_at__isnull=True) | Q(communicated_at__gte=F("flagged_at")),
                name="finding_communicated_after_flagged",
            ),
            # Each status implies the timestamps of the steps it took to get there, and none of
            # the later ones (voided findings keep whatever they had).
            models.CheckConstraint(
                condition=~Q(status=Status.AWAITING_CONTACT)
                | Q(
                    communicated_at__isnull=True,
                    acknowledged_at__isnull=True,
                    closed_at__isnull=True,
                ),
                name="finding_awaiting_has_no_contact",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.COMMUNICATED)
                | Q(
                    communicated_at__isnull=False,
                    acknowledged_at__isnull=True,
                    closed_at__isnull=True,
                ),
                name="finding_communicated_has_contact",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.ACKNOWLEDGED)
                | Q(
                    communicated_at__isnull=False,
                    acknowledged_at__isnull=False,
                    closed_at__isnull=True,
                ),
                name="finding_acknowledged_has_contact_and_ack",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.CLOSED)
                | Q(
                    communicated_at__isnull=False,
                    acknowledged_at__isnull=False,
                    closed_at__isnull=False,
                ),
                name="finding_closed_has_every_step",
            ),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True)
                | Q(acknowledged_at__gte=F("communicated_at")),
                name="finding_acknowledged_after_contact",
            ),
            # A contact after the deadline always says why it was late.
            models.CheckConstraint(
                condition=Q(communicated_at__isnull=True)
                | Q(contact_due_at__isnull=True)
                | Q(communicated_at__lte=F("contact_due_at"))
                | ~Q(breach_reason=""),
                name="finding_late_contact_has_breach_reason",
            ),
            # Nobody can read back, acknowledge or close a finding no referrer is accountable for.
            models.CheckConstraint(
                condition=Q(unrouted=False)
                | Q(status__in=[Status.AWAITING_CONTACT, *VOIDED_STATUSES]),
                name="finding_unrouted_is_awaiting_contact",
            ),
        ]

    def __str__(self):
        return f"{self.get_category_display()} finding on {self.exam.accession_number}"

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    @property
    def was_communicated_late(self):
        return (
            self.communicated_at is not None
            and self.contact_due_at is not None
            and self.communicated_at > self.contact_due_at
        )

    @property
    def is_returned_to_radiologist(self):
        """Unrouted (declined, or the orderer unknown): the radiologist must route it."""
        return self.unrouted

    def deadline_state(self, now):
        if self.status == Status.AWAITING_CONTACT:
            if self.contact_due_at is None:
                return DeadlineState("none", None)
            remaining = self.contact_due_at - now
            if remaining < timedelta(0):
                return DeadlineState("overdue", remaining)
            if self.warning_at is not None and now >= self.warning_at:
                return DeadlineState("warning", remaining)
            return DeadlineState("on_track", remaining)
        if self.status == Status.COMMUNICATED and self.acknowledgement_due_at is not None:
            remaining = self.acknowledgement_due_at - now
            return DeadlineState("overdue" if remaining < timedelta(0) else "on_track", remaining)
        if self.communicated_at is None:
            return DeadlineState("none", None)
        return DeadlineState("late" if self.was_communicated_late else "met", None)


class CommunicationAttempt(models.Model):
    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="attempts")
    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attempts_made"
    )
    # When the call happened (asked on the form; not before the flag, not in the future) and
    # when it was logged: a call logged later than it happened shows as such in the statement.
    attempted_at = models.DateTimeField(editable=False)
    recorded_at = models.DateTimeField(default=clock.now, editable=False)
    # Whom they reached: a user, or a person without an account described in free text.
    contacted_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attempts_received",
    )
    contact_name = models.CharField(max_length=120, blank=True)
    contact_role = models.CharField(max_length=120, blank=True)
    contact_number = models.CharField(max_length=40, blank=True)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    counts_as_communication = models.BooleanField(default=False, editable=False)
    # Why a contact did not count under the category's policy (empty when it counted), so the
    # record says it, not only the status.
    not_counted_reason = models.CharField(max_length=300, blank=True, editable=False)
    # The patient and exam as the caller saw them: a later correction of the record does not
    # change what was communicated.
    patient_shown = models.CharField(max_length=400, blank=True, editable=False)
    notes = models.TextField(blank=True)
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    history = HistoricalRecords(history_manager=HistoryManager)

    class Meta:
        ordering = ["attempted_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(contacted_user__isnull=False) | ~Q(contact_name=""),
                name="attempt_names_whom",
            ),
            models.CheckConstraint(
                condition=Q(recorded_at__gte=F("attempted_at")),
                name="attempt_recorded_after_it_happened",
            ),
        ]

    def __str__(self):
        return (
            f"{self.get_channel_display()} to {self.contact_display}: {self.get_outcome_display()}"
        )

    @property
    def contact_display(self):
        if self.contacted_user_id:
            return self.contacted_user.display_name
        return self.contact_name


class Acknowledgement(models.Model):
    finding = models.OneToOneField(
        Finding, on_delete=models.PROTECT, related_name="acknowledgement"
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="acknowledgements"
    )
    acknowledged_at = models.DateTimeField(editable=False)
    planned_action = models.CharField(max_length=30, choices=PlannedAction.choices)
    note = models.TextField(blank=True)
    # A clinician without an account (a locum, another hospital's registrar) acknowledges
    # verbally: the radiologist's documented read-back with them is the acknowledgement, and
    # `acknowledged_by` is the radiologist who recorded it.
    verbal_attempt = models.OneToOneField(
        CommunicationAttempt,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="verbal_acknowledgement",
    )
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    history = HistoricalRecords(history_manager=HistoryManager)

    def __str__(self):
        if self.verbal_attempt_id:
            return (
                f"Acknowledged verbally by {self.verbal_attempt.contact_display} "
                f"({self.get_planned_action_display()})"
            )
        return f"Acknowledged by {self.acknowledged_by} ({self.get_planned_action_display()})"


class HandoverKind(models.TextChoices):
    HANDOVER = "handover", "Handed over"
    DECLINED = "declined", "Declined (returned to radiologist)"
    REROUTED = "rerouted", "Re-routed by radiologist"


class Handover(models.Model):
    """A change of the accountable clinician, with who did it and why."""

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="handovers")
    kind = models.CharField(max_length=20, choices=HandoverKind.choices)
    from_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handovers_from"
    )
    to_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handovers_to"
    )
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handovers_made"
    )
    made_at = models.DateTimeField(editable=False)
    reason = models.TextField()
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    history = HistoricalRecords(history_manager=HistoryManager)

    class Meta:
        ordering = ["made_at"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.from_clinician} → {self.to_clinician}"


class EscalationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (no recipient)"
    CANCELLED = "cancelled", "Cancelled (resolved before it was sent)"


class Escalation(models.Model):
    """One step of the escalation chain for one finding, created once (database rule)."""

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="escalations")
    step = models.CharField(max_length=40, choices=EscalationStep.choices)
    # Reminders repeat: the n-th reminder of a step is its own row.
    sequence = models.PositiveIntegerField(default=0)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="escalations_received",
    )
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(default=clock.now, editable=False)
    status = models.CharField(
        max_length=20, choices=EscalationStatus.choices, default=EscalationStatus.PENDING
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    # Delivery bookkeeping (tracker.escalation.delivery): failed sends so far, and when the
    # sweep may hand the escalation to a worker again (retry backoff / lost-message safety net).
    failed_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    # A delivery worker's claim (compare-and-set, tracker.escalation.delivery): while it holds,
    # no other worker sends this escalation; a worker that dies loses it when it runs out.
    claimed_by = models.CharField(max_length=32, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    history = HistoricalRecords(
        history_manager=HistoryManager,
        excluded_fields=["next_attempt_at", "claimed_by", "claimed_until"],
    )

    class Meta:
        ordering = ["due_at"]
        indexes = [
            # Redelivery sweep: pending escalations whose next attempt is due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="escalation_pending_idx",
            ),
            # The engine alarm (tracker/health.py): the oldest escalation still unsent.
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending"),
                name="escalation_unsent_idx",
            ),
            # Alert cap: what did this person receive in the last hour?
            models.Index(fields=["recipient", "created_at"], name="escalation_recipient_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["finding", "step", "sequence"], name="escalation_once_per_step"
            ),
        ]

    def __str__(self):
        return f"{self.get_step_display()} for finding {self.finding_id}"

    @property
    def lateness(self):
        """How long after its due time it went out (None until sent)."""
        if self.sent_at is None:
            return None
        return self.sent_at - self.due_at
