"""Jira's webhook, included by the API under /api/v1/webhooks/jira/ (no namespace: its name is `api:jira-webhook`)."""

from django.urls import path

from .views import jira_webhook

urlpatterns = [
    path("", jira_webhook, name="jira-webhook"),
]
