from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from passwords.models import GroupResetJob, ShownPassword


@admin.register(ShownPassword)
class ShownPasswordAdmin(admin.ModelAdmin):
    """Whether a copy exists, never the copy: the sealed token is not shown or editable here."""

    list_display = ("account", "has_copy", "changed_by_owner", "updated_at")
    list_filter = ("changed_by_owner",)
    search_fields = ("account__username",)
    fields = ("account", "changed_by_owner", "updated_at")
    readonly_fields = fields

    @admin.display(boolean=True, description=_("has a copy"))
    def has_copy(self, obj):
        return bool(obj.sealed)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GroupResetJob)
class GroupResetJobAdmin(admin.ModelAdmin):
    """Progress rows of group resets, read-only."""

    list_display = (
        "id",
        "organisation",
        "group_kind",
        "group",
        "status",
        "done",
        "total",
        "attempts",
        "created_at",
    )
    list_filter = ("status", "group_kind")
    readonly_fields = [f.name for f in GroupResetJob._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
