from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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
