from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("chat-webhooks", api.ChatWebhookViewSet, basename="chat-webhook")

urlpatterns = [
    path("me/notification-settings/", api.NotificationSettingsView.as_view(), name="me-notification-settings"),
    path("requests/<str:reference>/watchers/", api.RequestWatchersView.as_view(), name="request-watchers"),
    path("requests/<str:reference>/mentionable/", api.MentionableView.as_view(), name="request-mentionable"),
    *router.urls,
]
