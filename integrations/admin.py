from django.contrib import admin, messages

from .connections import connection_check
from .models import Connection


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
