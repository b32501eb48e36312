"""Shapes of the API's requests and responses. No rules here: the services decide."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import access, clock
from ..models import (
    Acknowledgement,
    BreachReason,
    Category,
    Channel,
    CommunicationAttempt,
    Exam,
    Finding,
    Handover,
    IdentifierKind,
    Modality,
    Outcome,
    Patient,
    PlannedAction,
    Role,
    User,
)


class ClinicianSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, allow_blank=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "role", "grade", "phone", "bleep"]
        read_only_fields = fields


def clinician_field(**kwargs):
    """A clinician named by username (as other systems know them)."""
    return serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), **kwargs
    )


class PatientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Patient
        fields = ["identifier", "family_name", "given_name", "date_of_birth"]
        read_only_fields = fields


class ExamSerializer(serializers.ModelSerializer):
    patient = PatientSerializer(read_only=True)
    ordering_clinician = ClinicianSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Exam
        fields = [
            "accession_number",
            "modality",
            "body_part",
            "description",
            "performed_at",
            "location",
            "patient",
            "ordering_clinician",
        ]
        read_only_fields = fields


class DeadlineSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=["none", "on_track", "warning", "overdue", "met", "late"]
    )
    remaining_seconds = serializers.IntegerField(allow_null=True)


class FindingSerializer(serializers.ModelSerializer):
    exam = ExamSerializer(read_only=True)
    flagged_by = ClinicianSerializer(read_only=True)
    responsible_clinician = ClinicianSerializer(read_only=True)
    breach_reason = serializers.ChoiceField(
        choices=BreachReason.choices, allow_blank=True, read_only=True
    )
    deadline = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = [
            "id",
            "status",
            "category",
            "description",
            "exam",
            "flagged_by",
            "flagged_at",
            "responsible_clinician",
            "unrouted",
            "void_reason",
            "contact_due_at",
            "warning_at",
            "communicated_at",
            "acknowledgement_due_at",
            "acknowledged_at",
            "closed_at",
            "breach_reason",
            "deadline",
            "actions",
        ]
        read_only_fields = fields

    @extend_schema_field(DeadlineSerializer)
    def get_deadline(self, finding):
        state = finding.deadline_state(clock.now())
        remaining = None if state.remaining is None else int(state.remaining.total_seconds())
        return {"state": state.state, "remaining_seconds": remaining}

    @extend_schema_field(serializers.DictField(child=serializers.BooleanField()))
    def get_actions(self, finding):
        return access.actions_for(self.context["request"].user, finding)


class AttemptSerializer(serializers.ModelSerializer):
    caller = ClinicianSerializer(read_only=True)
    contacted_user = ClinicianSerializer(read_only=True, allow_null=True)

    class Meta:
        model = CommunicationAttempt
        fields = [
            "id",
            "attempted_at",
            "recorded_at",
            "caller",
            "contacted_user",
            "contact_name",
            "contact_role",
            "contact_number",
            "channel",
            "outcome",
            "counts_as_communication",
            "not_counted_reason",
            "notes",
        ]
        read_only_fields = fields


class HandoverSerializer(serializers.ModelSerializer):
    from_clinician = ClinicianSerializer(read_only=True)
    to_clinician = ClinicianSerializer(read_only=True)
    made_by = ClinicianSerializer(read_only=True)

    class Meta:
        model = Handover
        fields = ["id", "kind", "from_clinician", "to_clinician", "made_by", "made_at", "reason"]
        read_only_fields = fields


class AcknowledgementSerializer(serializers.ModelSerializer):
    acknowledged_by = ClinicianSerializer(read_only=True)

    class Meta:
        model = Acknowledgement
        fields = ["id", "acknowledged_by", "acknowledged_at", "planned_action", "note"]
        read_only_fields = fields


class TimelineEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    by = serializers.CharField(allow_null=True)
    event = serializers.CharField()
    status = serializers.CharField()


class FindingDetailSerializer(FindingSerializer):
    attempts = AttemptSerializer(many=True, read_only=True)
    handovers = HandoverSerializer(many=True, read_only=True)
    acknowledgement = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()

    class Meta(FindingSerializer.Meta):
        fields = FindingSerializer.Meta.fields + [
            "attempts",
            "handovers",
            "acknowledgement",
            "timeline",
        ]
        read_only_fields = fields

    @extend_schema_field(AcknowledgementSerializer(allow_null=True))
    def get_acknowledgement(self, finding):
        ack = Acknowledgement.objects.filter(finding=finding).first()
        return AcknowledgementSerializer(ack).data if ack else None

    @extend_schema_field(TimelineEventSerializer(many=True))
    def get_timeline(self, finding):
        """The finding's audit trail: who changed what, when, in order."""
        rows = finding.history.select_related("history_user").order_by("history_date", "pk")
        return [
            {
                "at": row.history_date,
                "by": row.history_user.display_name if row.history_user else None,
                "event": row.history_change_reason or "",
                "status": row.status,
            }
            for row in rows
        ]


# Requests -------------------------------------------------------------------------------


class PatientInputSerializer(serializers.Serializer):
    identifier = serializers.CharField(max_length=40)
    identifier_kind = serializers.ChoiceField(
        choices=IdentifierKind.choices,
        required=False,
        help_text="nhs_number: checked with its Modulus 11 check digit; mrn (default): checked "
        "against the site's pattern.",
    )
    family_name = serializers.CharField(max_length=100)
    given_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)


class ExamInputSerializer(serializers.Serializer):
    modality = serializers.ChoiceField(choices=Modality.choices)
    body_part = serializers.CharField(max_length=80, required=False, allow_blank=True)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    performed_at = serializers.DateTimeField(required=False, allow_null=True)
    location = serializers.CharField(max_length=80, required=False, allow_blank=True)
    ordering_clinician = serializers.CharField(
        max_length=150,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Username of the ordering clinician. Unknown or inactive: the result is still "
        "accepted, unrouted, for the radiologist to route (never refused).",
    )
    patient = PatientInputSerializer()

    def validate_ordering_clinician(self, value):
        value = (value or "").strip()
        return User.objects.filter(username=value, is_active=True).first() if value else None


class FindingCreateSerializer(serializers.Serializer):
    accession_number = serializers.CharField(max_length=40)
    category = serializers.ChoiceField(choices=Category.choices)
    description = serializers.CharField()
    responsible_clinician = clinician_field(
        required=False, allow_null=True, help_text="Default: the exam's ordering clinician."
    )
    exam = ExamInputSerializer(
        required=False,
        help_text="Register the exam (and its patient) if the accession number is new, "
        "or update it; omit to flag an exam the tracker already has.",
    )
    confirm_second_open = serializers.BooleanField(
        default=False,
        help_text="The exam already has an open finding and this is a second, separate one. "
        "Without it such a request is refused (400, code second_open_finding).",
    )


class AttemptCreateSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    contacted_user = clinician_field(required=False, allow_null=True)
    contact_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    contact_role = serializers.CharField(max_length=120, required=False, allow_blank=True)
    contact_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    breach_reason = serializers.ChoiceField(
        choices=BreachReason.choices, required=False, allow_blank=True
    )
    breach_reason_text = serializers.CharField(required=False, allow_blank=True)
    attempted_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When the call happened (default now); not before the flag, not in the future.",
    )
    planned_action = serializers.ChoiceField(
        choices=PlannedAction.choices,
        required=False,
        allow_blank=True,
        help_text="For a clinician without an account (contact_name, contact_role, "
        "contact_number): the action they stated; their read-back is then their verbal "
        "acknowledgement.",
    )
    planned_action_note = serializers.CharField(required=False, allow_blank=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why: kept in the finding's history.")


class RecategoriseSerializer(ReasonSerializer):
    category = serializers.ChoiceField(choices=Category.choices)


class CloseRequestSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True)


class RouteSerializer(ReasonSerializer):
    to_clinician = clinician_field()


class AcknowledgeSerializer(serializers.Serializer):
    planned_action = serializers.ChoiceField(choices=PlannedAction.choices)
    note = serializers.CharField(required=False, allow_blank=True)


class HandOverRequestSerializer(serializers.Serializer):
    to_clinician = clinician_field()
    reason = serializers.CharField()
