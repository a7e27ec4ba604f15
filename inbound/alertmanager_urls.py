"""Alertmanager's webhook, included by the API under /api/v1/webhooks/alertmanager/ (`api:alertmanager-webhook`)."""

from django.urls import path

from .alertmanager_views import alertmanager_webhook

urlpatterns = [
    path("", alertmanager_webhook, name="alertmanager-webhook"),
]
