"""Post-incident reviews of resolved P0/P1 production issues, and their action items (follow-up requests)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from requests_app.models import ServiceRequest

if TYPE_CHECKING:
    from portal.models import User


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class ReviewQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> ReviewQuerySet:
        """A review is seen by exactly those who see its request."""
        return self.filter(service_request__in=ServiceRequest.objects.visible_to(user))


class IncidentReview(models.Model):
    """What happened in one incident (the timeline, pre-filled from its events), why, and what follows."""

    service_request = models.OneToOneField(ServiceRequest, on_delete=models.CASCADE, related_name="incident_review")
    status = models.CharField(max_length=16, choices=ReviewStatus, default=ReviewStatus.DRAFT)
    timeline = models.JSONField(default=list, blank=True, help_text="[{at, kind, text}] from the request's events.")
    comment_count = models.PositiveIntegerField(default=0)
    root_cause = models.TextField("Root cause", blank=True)
    impact = models.TextField("Impact", blank=True)
    went_well = models.TextField("What went well", blank=True)
    went_badly = models.TextField("What went badly", blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Review of {self.service_request.reference}"

    @property
    def timeline_entries(self) -> list[dict[str, Any]]:
        """The stored timeline with its times as datetimes again, for the time filters."""
        return [{**entry, "at": datetime.fromisoformat(entry["at"])} for entry in self.timeline]


class ActionItem(models.Model):
    """One follow-up of a review: a request of its own, filed through the normal service, with an owner."""

    review = models.ForeignKey(IncidentReview, on_delete=models.CASCADE, related_name="action_items")
    follow_up = models.OneToOneField(ServiceRequest, on_delete=models.CASCADE, related_name="review_action")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_on = models.DateField("Due on")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return f"{self.follow_up.reference} after {self.review}"
