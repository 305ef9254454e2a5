from django.contrib import admin

from provisioning.models import NameChangeNotice, ProvisioningRun, SchoolToken


@admin.register(ProvisioningRun)
class ProvisioningRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "organisation",
        "status",
        "source",
        "created",
        "deactivated",
        "refused",
        "created_at",
    )
    list_filter = ("status", "source")
    search_fields = ("organisation__code",)
    readonly_fields = [f.name for f in ProvisioningRun._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(SchoolToken)
class SchoolTokenAdmin(admin.ModelAdmin):
    list_display = ("organisation", "created_at", "revoked_at", "last_used_at")
    exclude = ("token_hash",)
    readonly_fields = ("organisation", "created_at", "revoked_at", "last_used_at")

    def has_add_permission(self, request):
        return False


@admin.register(NameChangeNotice)
class NameChangeNoticeAdmin(admin.ModelAdmin):
    list_display = ("account", "organisation", "status", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("account", "run")
