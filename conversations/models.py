"""Who follows a request, how each person wants to hear, and every notice owed to someone (its delivery record)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    IN_APP = "in_app", "In the portal"
    CHAT = "chat", "Own Slack or Teams webhook"


class Mode(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    DIGEST = "digest", "Daily digest"
    OFF = "off", "Off"


class ChannelSetting(models.Model):
    """One person's choice for one channel; no row means the default (immediately)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channel_settings")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.IMMEDIATE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "channel"], name="one_setting_per_channel")]

    def __str__(self) -> str:
        return f"{self.user}: {self.channel} {self.mode}"


class RequestMute(models.Model):
    """A person who asked to hear nothing more about one request."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="request_mutes")
    service_request = models.ForeignKey("requests_app.ServiceRequest", on_delete=models.CASCADE, related_name="mutes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "service_request"], name="one_mute_per_request")]

    def __str__(self) -> str:
        return f"{self.user} muted {self.service_request_id}"


class WatchReason(models.TextChoices):
    CHOSE = "chose", "Chose to watch"
    MENTIONED = "mentioned", "Mentioned"


class Watcher(models.Model):
    """A person who follows a request beyond their role: by choice, or because a comment mentioned them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watching")
    service_request = models.ForeignKey(
        "requests_app.ServiceRequest", on_delete=models.CASCADE, related_name="watchers"
    )
    reason = models.CharField(max_length=16, choices=WatchReason.choices, default=WatchReason.CHOSE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "service_request"], name="one_watch_per_request")]

    def __str__(self) -> str:
        return f"{self.user} watches {self.service_request_id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    HELD = "held", "Held for a digest or summary"
    BATCHED = "batched", "Sent in a digest or summary"
    FAILED = "failed", "Failed"


class Batch(models.TextChoices):
    NONE = "", "Sent on its own"
    DIGEST = "digest", "Daily digest"
    SUMMARY = "summary", "Catch-up summary"


class Delivery(models.Model):
    """One notice owed to one person on one channel about one event.

    Its key (event, user, channel) is unique, so planning twice owes nothing twice; a row is claimed (`sending`,
    committed) before the message leaves, so a worker that dies between sending and recording `sent` leaves a
    claimed row the retry skips instead of sending the message again."""

    event = models.ForeignKey("requests_app.RequestEvent", on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    notice = models.CharField(max_length=32)  # the matrix row: an event kind, or a derived one (approval_requested)
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    batch = models.CharField(max_length=16, choices=Batch.choices, blank=True, default=Batch.NONE)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    # Chat posts wait here between retries (e-mail retries wait in Celery's countdown instead).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    message = models.JSONField(
        default=dict,
        blank=True,
        help_text="A message fixed when planned (a page's chat post: text, link, action; its e-mail: subject, "
        "body); else empty.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "user", "channel"], name="one_delivery_per_event_user_channel")
        ]
        indexes = [models.Index(fields=["state", "batch"], name="delivery_state_batch")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.channel} to {self.user} about event {self.event_id}: {self.state}"


class ChatKind(models.TextChoices):
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"


class PersonalChatWebhook(models.Model):
    """One person's own Slack or Teams incoming webhook: the `chat` channel's address, as an e-mail address is
    the `email` channel's. Kept apart from `ChatWebhook` so that no query for the shared channels can match it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_chat_webhook"
    )
    kind = models.CharField(max_length=16, choices=ChatKind.choices)
    url = models.URLField(max_length=500)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user}'s {self.get_kind_display()}"


class ChatWebhook(models.Model):
    """An incoming webhook of a Slack or Teams channel, for one vendor and/or environment (blank: every one)."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ChatKind.choices)
    url = models.URLField(max_length=500)
    vendor = models.ForeignKey(
        "requests_app.Vendor", null=True, blank=True, on_delete=models.CASCADE, related_name="chat_webhooks"
    )
    environment = models.ForeignKey(
        "requests_app.Environment", null=True, blank=True, on_delete=models.CASCADE, related_name="chat_webhooks"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class ChatDelivery(models.Model):
    """One event posted to one chat webhook: unique per pair, retried with backoff, visible when it fails."""

    event = models.ForeignKey("requests_app.RequestEvent", on_delete=models.CASCADE, related_name="chat_deliveries")
    webhook = models.ForeignKey(ChatWebhook, on_delete=models.CASCADE, related_name="deliveries")
    notice = models.CharField(max_length=32)
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    message = models.JSONField(
        default=dict, blank=True, help_text="The post fixed when planned (a page: text, link, action); else empty."
    )
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["event", "webhook"], name="one_chat_delivery_per_webhook")]
        verbose_name_plural = "chat deliveries"

    def __str__(self) -> str:
        return f"event {self.event_id} to {self.webhook}: {self.state}"
