"""Administrators configure the site (policy, departments, people). Clinical records are shown
read-only here, with their history: every change to them goes through the services."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin

from .audit.access import AccessLoggedAdminMixin
from .models import (
    Acknowledgement,
    Channel,
    CommunicationAttempt,
    CommunicationPolicy,
    Department,
    Escalation,
    EscalationStep,
    Exam,
    Finding,
    Handover,
    NotificationAttempt,
    Patient,
    User,
)


class HistoryAdmin(SimpleHistoryAdmin):
    """History is viewable. Reverting is off (SIMPLE_HISTORY_REVERT_DISABLED only hides the
    button; simple-history still saves a POST to the past-version page, so refuse it here)."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied("Past versions are shown, never restored.")
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReadOnlyClinicalAdmin(HistoryAdmin):
    """Viewable with history; not addable, editable or deletable (nothing is ever deleted)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class NoDeleteAdmin(HistoryAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class ClinicianAdmin(UserAdmin, NoDeleteAdmin):
    list_display = ("username", "display_name", "role", "grade", "department", "is_active")
    list_filter = ("role", "department", "is_active", "is_staff")
    search_fields = ("username", "first_name", "last_name", "email")
    fieldsets = UserAdmin.fieldsets + (
        (
            "Clinical profile",
            {
                "fields": (
                    "role",
                    "title",
                    "grade",
                    "department",
                    "phone",
                    "bleep",
                    "covering_colleague",
                )
            },
        ),
    )
    autocomplete_fields = ("covering_colleague",)


@admin.register(Department)
class DepartmentAdmin(NoDeleteAdmin):
    list_display = ("name", "code", "lead")
    search_fields = ("name", "code")
    autocomplete_fields = ("lead",)


class PolicyForm(forms.ModelForm):
    accepted_channels = forms.MultipleChoiceField(
        choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )
    escalation_chain = forms.MultipleChoiceField(
        choices=EscalationStep.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = CommunicationPolicy
        fields = [
            "label",
            "contact_deadline",
            "acknowledgement_window",
            "warning_percent",
            "accepted_channels",
            "read_back_required",
            "escalation_chain",
            "reminder_interval",
            "max_alerts_per_person_per_hour",
        ]


@admin.register(CommunicationPolicy)
class CommunicationPolicyAdmin(NoDeleteAdmin):
    form = PolicyForm
    list_display = (
        "label",
        "category",
        "contact_deadline",
        "acknowledgement_window",
        "warning_percent",
        "read_back_required",
    )

    def has_add_permission(self, request):
        # One row per category, created by migration: a site edits, it does not add.
        return False


@admin.register(Patient)
class PatientAdmin(AccessLoggedAdminMixin, ReadOnlyClinicalAdmin):
    list_display = ("identifier", "family_name", "given_name", "date_of_birth")
    search_fields = ("identifier", "family_name")


@admin.register(Exam)
class ExamAdmin(ReadOnlyClinicalAdmin):
    list_display = (
        "accession_number",
        "modality",
        "body_part",
        "performed_at",
        "ordering_clinician",
    )
    list_filter = ("modality", "referring_department")
    search_fields = ("accession_number", "patient__identifier")
    list_select_related = ("ordering_clinician",)


class AttemptInline(admin.TabularInline):
    model = CommunicationAttempt
    extra = 0
    can_delete = False
    fields = ("attempted_at", "caller", "channel", "outcome", "contacted_user", "contact_name")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Finding)
class FindingAdmin(AccessLoggedAdminMixin, ReadOnlyClinicalAdmin):
    list_display = (
        "id",
        "exam",
        "category",
        "status",
        "flagged_by",
        "flagged_at",
        "contact_due_at",
        "responsible_clinician",
    )
    list_filter = ("category", "status", "exam__modality", "breach_reason")
    search_fields = ("exam__accession_number", "description")
    date_hierarchy = "flagged_at"
    list_select_related = ("exam", "flagged_by", "responsible_clinician")
    inlines = [AttemptInline]


@admin.register(CommunicationAttempt)
class CommunicationAttemptAdmin(ReadOnlyClinicalAdmin):
    list_display = ("finding", "attempted_at", "caller", "channel", "outcome")
    list_filter = ("channel", "outcome")
    search_fields = ("finding__exam__accession_number", "contact_name")


@admin.register(Acknowledgement)
class AcknowledgementAdmin(ReadOnlyClinicalAdmin):
    list_display = ("finding", "acknowledged_by", "acknowledged_at", "planned_action")
    list_filter = ("planned_action",)


@admin.register(Handover)
class HandoverAdmin(ReadOnlyClinicalAdmin):
    list_display = ("finding", "kind", "from_clinician", "to_clinician", "made_at")
    list_filter = ("kind",)


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyClinicalAdmin):
    list_display = ("finding", "step", "sequence", "recipient", "due_at", "status", "sent_at")
    list_filter = ("step", "status")


@admin.register(NotificationAttempt)
class NotificationAttemptAdmin(ReadOnlyClinicalAdmin):
    """Every send of an escalation, with the channel's answer (tracker.escalation.delivery)."""

    list_display = ("escalation", "channel", "attempted_at", "succeeded", "detail")
    list_filter = ("channel", "succeeded")


from .audit import admin as _audit_admin  # noqa: E402, F401 - registers the audit tables
from .hl7 import admin as hl7_admin  # noqa: E402, F401 - the HL7 dead-letter list
