from django.contrib import admin, messages

from portal.admin import ReadOnlyAdmin

from .connections import connection_check
from .models import Connection, JiraDelivery, JiraLink, JiraPush


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("environment", "system", "url", "enabled", "last_check_ok", "last_checked_at")
    list_filter = ("system", "enabled", "environment")
    readonly_fields = ("last_checked_at", "last_check_ok", "last_check_summary")
    actions = ["test_connection"]

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset) -> None:
        for connection in queryset:
            result = connection_check(connection)
            level = messages.SUCCESS if result.ok else messages.ERROR
            details = " ".join(result.details)
            self.message_user(request, f"{connection}: {result.summary} {details}".strip(), level)


@admin.register(JiraDelivery)
class JiraDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("delivery_id", "environment", "webhook_event", "issue_key", "outcome", "received_at")
    list_filter = ("outcome", "webhook_event", "environment")
    search_fields = ("delivery_id", "issue_key")


@admin.register(JiraLink)
class JiraLinkAdmin(ReadOnlyAdmin):
    list_display = ("service_request", "jira_key", "origin", "pushed_status", "pushed_priority", "last_event_at")
    list_filter = ("origin", "environment")
    search_fields = ("jira_key", "service_request__reference")


@admin.register(JiraPush)
class JiraPushAdmin(ReadOnlyAdmin):
    list_display = ("jira_key", "field", "value", "outcome", "pushed_at", "echoed_at")
    list_filter = ("field", "outcome")
    search_fields = ("jira_key",)
