"""The management area's audit trail: every change to how the desk runs, with who made it and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Area(models.TextChoices):
    SLA_POLICY = "sla_policy", "SLA policies"
    CALENDAR = "calendar", "Calendars"
    ROUTING = "routing", "Routing rules"
    ONBOARDING = "onboarding", "Partner onboarding"
    ANNOUNCEMENT = "announcement", "Announcements"


class ChangeRecordQuerySet(models.QuerySet):
    def of_area(self, area: str) -> ChangeRecordQuerySet:
        return self.filter(area=area) if area else self


class ChangeRecord(models.Model):
    """One change made in the management area; written only by `backoffice.audit.record_change`, never edited."""

    area = models.CharField(max_length=32, choices=Area.choices)
    action = models.CharField(max_length=64, help_text="What was done, in words: “Revised P2 policy”.")
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    reason = models.TextField(max_length=2000)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    objects = ChangeRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["area", "-at"], name="change_area_at")]

    def __str__(self) -> str:
        return f"{self.action}: {self.object_repr}"
