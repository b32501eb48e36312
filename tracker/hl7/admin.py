"""The dead-letter list: administrators review stored messages and re-process them."""

from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from ..models import InboundMessage, ProviderIdentifier
from . import ingest


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = (
        "received_at",
        "control_id",
        "sender",
        "message_type",
        "status",
        "ack_code",
        "error_location",
        "attempts",
    )
    list_filter = ("status", "ack_code", "entry_point", "version")
    search_fields = ("control_id", "sender")
    date_hierarchy = "received_at"
    actions = ["reprocess"]
    readonly_fields = [f.name for f in InboundMessage._meta.fields if f.name != "raw"] + [
        "message_text"
    ]
    exclude = ("raw",)

    @admin.display(description="Message as received")
    def message_text(self, obj):
        return obj.text.replace("\r", "\n")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # never lost: a dead letter stays until re-processed, and after

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Re-process selected dead letters", permissions=["reprocess"])
    def reprocess(self, request, queryset):
        results = {"AA": 0, "AE": 0, "AR": 0}
        for message in queryset.dead_letters():
            done = ingest.reprocess(message, by=request.user)
            results[done.ack_code] = results.get(done.ack_code, 0) + 1
        failing = results["AE"] + results["AR"]
        self.message_user(
            request,
            f"Re-processed: {results['AA']} accepted, {failing} still failing.",
            messages.WARNING if failing else messages.SUCCESS,
        )

    def has_reprocess_permission(self, request):
        return request.user.has_perm("tracker.reprocess_inboundmessage")


@admin.register(ProviderIdentifier)
class ProviderIdentifierAdmin(SimpleHistoryAdmin):
    """Under history and never deleted: a mapping decides which clinician a result goes to."""

    list_display = ("value", "assigning_authority", "user")

    def has_delete_permission(self, request, obj=None):
        return False

    search_fields = ("value", "user__username", "user__last_name")
    autocomplete_fields = ("user",)
