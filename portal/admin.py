from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import SsoIdentity, User


class SsoIdentityInline(admin.TabularInline):
    """The person's identities at the OpenID provider: remove one to unlink it, or add one (issuer and subject as
    the provider sends them) so that person signs in as this account."""

    model = SsoIdentity
    extra = 0
    fields = ("issuer", "subject", "created_at", "last_login_at")
    readonly_fields = ("created_at", "last_login_at")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = (SsoIdentityInline,)
    list_display = ("username", "email", "first_name", "last_name", "vendor", "vendor_role", "is_active")
    list_filter = (*BaseUserAdmin.list_filter, "vendor", "vendor_role")
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Partner", {"fields": ("vendor", "vendor_role")}))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit material (requests, events, clocks, runs, Jira deliveries): changes go through the services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
