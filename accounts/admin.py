from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.audit import action_label
from accounts.models import Account, AuditEvent, AuditFailureCount, EmailAlias, Organisation, RoleGrant


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "phase", "parent")
    list_filter = ("kind", "phase")
    search_fields = ("code", "name", "name_cy")


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("username", "legal_surname", "legal_forename", "kind", "organisation", "status")
    list_filter = ("kind", "status", "source")
    search_fields = ("username", "legal_surname", "legal_forename", "admission_number")
    raw_id_fields = ("organisation",)
    exclude = ("password", "upn_hash", "groups", "user_permissions")
    readonly_fields = ("last_login", "created_at", "updated_at")


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    list_display = ("account", "role", "organisation")
    raw_id_fields = ("account", "organisation")


admin.site.register(EmailAlias)


class AppendOnlyAdmin(admin.ModelAdmin):
    """Shown, never added to, changed or deleted in the admin: the audit trail's rows are append-only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(AppendOnlyAdmin):
    """Read-only: audit events are append-only."""

    list_display = ("created_at", "action_shown", "actor_id", "organisation", "outcome", "target_count")
    list_filter = ("action", "outcome")

    @admin.display(description=_("action"), ordering="action")
    def action_shown(self, event):
        return action_label(event.action)


@admin.register(AuditFailureCount)
class AuditFailureCountAdmin(AppendOnlyAdmin):
    """Read-only: counted refusals are only ever counted up, by accounts.audit.audit_count."""

    list_display = ("minute", "action_shown", "client_ip", "count")
    list_filter = ("action",)

    @admin.display(description=_("action"), ordering="action")
    def action_shown(self, counted):
        return action_label(counted.action)
