"""Prometheus Alertmanager intake: who may post alerts (a credential per environment) and what was received."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from requests_app.models import Environment, ServiceRequest, Team


class AlertmanagerCredential(models.Model):
    """One Alertmanager's way in: a token (kept only as its SHA-256) and where its alerts become requests.

    Created and rotated with `manage.py alertmanager_credential`, which shows the token once; the program manager
    edits the rest (team, environment, auto-resolve, active) in the Django admin."""

    name = models.SlugField(
        max_length=64, unique=True, help_text="The username for basic auth, and how the credential is named."
    )
    key = models.CharField(max_length=16, unique=True, editable=False, help_text="The token's public part.")
    token_hash = models.CharField(max_length=64, editable=False)
    environment = models.ForeignKey(
        Environment,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Where alerts are filed when they carry no known `environment` label.",
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The implementation team the Alertmanager service user files for.",
    )
    resolve_on_recovery = models.BooleanField(
        default=False, help_text="Resolve the request when Alertmanager reports the alerts resolved."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class AlertNotification(models.Model):
    """One notification received, once: a redelivery of the same payload is recognised by its digest."""

    credential = models.ForeignKey(AlertmanagerCredential, on_delete=models.CASCADE, related_name="notifications")
    group_key = models.TextField()
    group_digest = models.CharField(max_length=64, help_text="SHA-256 of the group key, for lookups.")
    payload_digest = models.CharField(max_length=64, help_text="SHA-256 of the payload in canonical JSON.")
    status = models.CharField(max_length=16, choices=AlertStatus)
    outcome = models.CharField(max_length=16)
    service_request = models.ForeignKey(ServiceRequest, null=True, blank=True, on_delete=models.SET_NULL)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["credential", "payload_digest"], name="alertmanager_payload_once")
        ]
        indexes = [models.Index(fields=["credential", "group_digest"], name="alertmanager_group")]

    def __str__(self) -> str:
        return f"{self.status} {self.group_key} ({self.outcome})"
