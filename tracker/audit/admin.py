"""The chain and the read access log in the admin: view only, for everyone with admin access."""

from django.contrib import admin

from ..models.audit import AuditEntry, FindingAccess


class AppendOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(AppendOnlyAdmin):
    list_display = ("seq", "stream", "record_id", "recorded_at", "entry_hash")
    list_filter = ("stream",)


@admin.register(FindingAccess)
class FindingAccessAdmin(AppendOnlyAdmin):
    list_display = ("accessed_at", "user", "finding", "patient", "via")
    list_filter = ("via",)
    list_select_related = ("user", "finding__exam", "patient")
