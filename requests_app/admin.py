"""Configuration in the Django admin; requests and their audit trail are read-only here."""

from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import (
    Environment,
    Notification,
    RequestEvent,
    RoutingRule,
    ServiceRequest,
    Stack,
    Team,
    Vendor,
    VendorOnboarding,
)


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "timezone", "jira_project_key")
    search_fields = ("code", "name")


@admin.register(Stack)
class StackAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    filter_horizontal = ("members",)
    search_fields = ("name",)


class VendorOnboardingInline(admin.TabularInline):
    model = VendorOnboarding
    extra = 0


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "contact_email")
    inlines = [VendorOnboardingInline]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "request_type", "environment", "stack", "vendor", "is_active")
    list_filter = ("is_active", "vendor", "environment", "request_type")
    list_editable = ("is_active",)


@admin.register(ServiceRequest)
class ServiceRequestAdmin(ReadOnlyAdmin):
    list_display = ("reference", "title", "state", "priority", "request_type", "environment", "vendor", "created_at")
    list_filter = ("state", "priority", "request_type", "environment", "vendor")
    search_fields = ("reference", "title")
    date_hierarchy = "created_at"
    list_select_related = ("environment", "vendor")


@admin.register(RequestEvent)
class RequestEventAdmin(ReadOnlyAdmin):
    list_display = ("service_request", "kind", "actor", "from_state", "to_state", "created_at")
    list_filter = ("kind",)
    list_select_related = ("service_request", "actor")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "event", "summary", "created_at", "read_at")
