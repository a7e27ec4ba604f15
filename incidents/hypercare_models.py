"""Hypercare: after a release or deployment, a window in which production issues in the same place are linked to it
and, by default, raised one priority level."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from requests_app.models import Environment, ServiceRequest, Stack

if TYPE_CHECKING:
    from portal.models import User


class HypercareWindowQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> HypercareWindowQuerySet:
        """A window is seen by whoever sees the release or deployment that opened it."""
        return self.filter(service_request__in=ServiceRequest.objects.visible_to(user))

    def covering(self, *, environment_id: int, stack_id: int | None, at: datetime) -> HypercareWindowQuerySet:
        """Windows open at `at` for this environment and stack (no stack matches only windows without one)."""
        return self.filter(environment_id=environment_id, stack_id=stack_id, starts_at__lte=at, ends_at__gt=at)


class HypercareWindow(models.Model):
    """The days after a release or deployment support request in which its environment and stack are watched."""

    service_request = models.OneToOneField(ServiceRequest, on_delete=models.CASCADE, related_name="hypercare_window")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    stack = models.ForeignKey(Stack, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField(default=now)
    ends_at = models.DateTimeField()
    raise_priority = models.BooleanField(
        "Raise priority", default=True, help_text="Production issues filed in the window go up one priority level."
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issues = models.ManyToManyField(ServiceRequest, through="HypercareIssue", related_name="hypercare_windows")

    objects = HypercareWindowQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="hypercare_ends_after_start")
        ]

    def __str__(self) -> str:
        return f"Hypercare after {self.service_request.reference}"

    @property
    def days(self) -> int:
        return (self.ends_at - self.starts_at).days

    @property
    def is_open_now(self) -> bool:
        return self.starts_at <= now() < self.ends_at


class HypercareIssue(models.Model):
    """A production issue filed inside a window, and the priority it was filed with and given."""

    window = models.ForeignKey(HypercareWindow, on_delete=models.CASCADE, related_name="links")
    service_request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="hypercare_links")
    filed_priority = models.CharField(max_length=2)
    raised_to = models.CharField(max_length=2, blank=True, help_text="Empty when the priority was left alone.")
    linked_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["linked_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["window", "service_request"], name="hypercare_issue_once_per_window")
        ]

    def __str__(self) -> str:
        return f"{self.service_request.reference} in {self.window}"
