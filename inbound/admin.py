from django.contrib import admin

from .alertmanager_models import AlertmanagerCredential, AlertNotification


@admin.register(AlertmanagerCredential)
class AlertmanagerCredentialAdmin(admin.ModelAdmin):
    """The program manager edits where alerts go; tokens are issued and rotated by `manage.py
    alertmanager_credential`, which is the only place a token is ever shown."""

    list_display = ("name", "environment", "team", "resolve_on_recovery", "active", "last_used_at")
    list_filter = ("active", "resolve_on_recovery", "environment")
    fields = ("name", "environment", "team", "resolve_on_recovery", "active", "key", "created_at", "last_used_at")
    readonly_fields = ("name", "key", "created_at", "last_used_at")

    def has_add_permission(self, request: object) -> bool:
        return False  # a credential without a token would be useless; the command makes both


@admin.register(AlertNotification)
class AlertNotificationAdmin(admin.ModelAdmin):
    list_display = ("received_at", "credential", "status", "outcome", "service_request")
    list_filter = ("status", "outcome", "credential")
    readonly_fields = [f.name for f in AlertNotification._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
