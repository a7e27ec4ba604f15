from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import JiraDelivery, JiraLink, JiraPush


@admin.register(JiraDelivery)
class JiraDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "delivery_id",
        "environment",
        "webhook_event",
        "issue_key",
        "outcome",
        "attempts",
        "received_at",
        "processed_at",
    )
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
