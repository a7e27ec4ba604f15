"""The management area's audit trail: every change to how the desk runs, with who made it and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from requests_app.choices import OnboardingStatus


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


class OnboardingStep(models.Model):
    """One move of a vendor's onboarding in an environment, with what came with it; written only by
    `backoffice.onboarding.services`, never edited (a later revocation retry adds to `data`)."""

    onboarding = models.ForeignKey("requests_app.VendorOnboarding", on_delete=models.CASCADE, related_name="steps")
    from_stage = models.CharField(max_length=32, choices=OnboardingStatus, blank=True, help_text="Empty: started.")
    to_stage = models.CharField(max_length=32, choices=OnboardingStatus)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(max_length=2000)
    # Training dates, revocation outcomes: small facts that belong to this move only.
    data = models.JSONField(default=dict, blank=True)
    # The signed NDA, stored through the storage API like an attachment.
    document = models.FileField(max_length=300, blank=True)
    document_name = models.CharField(max_length=120, blank=True)
    document_type = models.CharField(max_length=100, blank=True)
    document_size = models.PositiveIntegerField(null=True, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    # How access was granted: the AccessOps request and the just-in-time grants it gave.
    access_request = models.ForeignKey(
        "requests_app.ServiceRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    grants = models.ManyToManyField("provisioning.AccessGrant", blank=True, related_name="onboarding_steps")

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        start = self.get_from_stage_display() or "Not started"
        return f"{start} → {self.get_to_stage_display()}"


class OnboardingTick(models.Model):
    """A checklist item of one stage, done: who ticked it and when (the items are defined in code)."""

    onboarding = models.ForeignKey("requests_app.VendorOnboarding", on_delete=models.CASCADE, related_name="ticks")
    stage = models.CharField(max_length=32, choices=OnboardingStatus)
    item = models.CharField(max_length=64)
    ticked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    ticked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["ticked_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["onboarding", "stage", "item"], name="one_tick_per_item")]

    def __str__(self) -> str:
        return f"{self.stage}: {self.item}"
