from django.contrib import admin

from .models import ChatDelivery, ChatWebhook, Delivery


@admin.register(ChatWebhook)
class ChatWebhookAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "vendor", "environment", "active")
    list_filter = ("kind", "active", "vendor", "environment")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "user", "channel", "state", "batch", "attempts", "sent_at")
    list_filter = ("state", "channel", "batch")
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(ChatDelivery)
class ChatDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "webhook", "state", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("state",)
    readonly_fields = [f.name for f in ChatDelivery._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
