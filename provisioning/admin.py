"""Admin: runs with their steps, and just-in-time grants, read-only (the services write them)."""

from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import AccessGrant, ProvisioningRun, ProvisioningStep

STEP_FIELDS = ("position", "key", "title", "status", "started_at", "finished_at", "output_text", "external_id", "link")


class ProvisioningStepInline(admin.TabularInline):
    model = ProvisioningStep
    extra = 0
    fields = STEP_FIELDS
    readonly_fields = STEP_FIELDS
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ProvisioningRun)
class ProvisioningRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "service_request", "action", "status", "attempts", "dry_run", "created_by", "created_at"]
    list_filter = ["status", "action", "dry_run"]
    search_fields = ["service_request__reference"]
    list_select_related = ["service_request", "created_by"]
    inlines = [ProvisioningStepInline]


@admin.register(AccessGrant)
class AccessGrantAdmin(ReadOnlyAdmin):
    list_display = ["id", "service_request", "system", "subject", "target", "level", "expires_at", "revoked_at"]
    list_filter = ["system", "revoked_at"]
    search_fields = ["service_request__reference", "subject", "target"]
    list_select_related = ["service_request"]
