"""Every message the intake received, with what became of it; the raw message is kept in storage for review."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from requests_app.models import ServiceRequest


class InboundStatus(models.TextChoices):
    FILED = "filed", "Filed a request"
    COMMENTED = "commented", "Added a comment"
    BOUNCED = "bounced", "Bounced to the sender"
    REFUSED = "refused", "Refused (too large or malformed)"
    DROPPED = "dropped", "Dropped (auto-reply or loop)"


class InboundMessage(models.Model):
    status = models.CharField(max_length=16, choices=InboundStatus)
    reason = models.TextField(blank=True)
    sender = models.CharField(max_length=254, blank=True)
    recipient = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    # The message as received (only its head when it was too large to keep), for the program manager's review.
    raw = models.FileField(max_length=300, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    service_request = models.ForeignKey(ServiceRequest, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["sender", "created_at"], name="inbound_sender_recent")]

    def __str__(self) -> str:
        return f"{self.status} from {self.sender} at {self.created_at:%Y-%m-%d %H:%M}"


# Alertmanager's models live in their own module; importing them here is how Django finds them.
from .alertmanager_models import AlertmanagerCredential, AlertNotification  # noqa: E402, F401
