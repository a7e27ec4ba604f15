"""What the program manager tells partners: an announcement for all of them or for chosen vendors and environments,
and each partner user's acknowledgement of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from requests_app.choices import OnboardingStatus
from requests_app.models import Environment, Vendor, VendorOnboarding

if TYPE_CHECKING:
    from datetime import datetime

    from portal.models import User


class Audience(models.TextChoices):
    ALL_PARTNERS = "all_partners", "All partners"
    CHOSEN = "chosen", "Chosen vendors and environments"


class AnnouncementQuerySet(models.QuerySet):
    def current(self, now: datetime | None = None) -> AnnouncementQuerySet:
        """Not yet expired."""
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now or timezone.now()))

    def for_vendor(self, vendor_id: int) -> AnnouncementQuerySet:
        """Those whose audience takes in this vendor: all partners, the vendor named, or an environment it works in
        (any onboarding short of offboarded)."""
        named = Announcement.vendors.through.objects.filter(announcement_id=OuterRef("pk"), vendor_id=vendor_id)
        works_in = VendorOnboarding.objects.filter(vendor_id=vendor_id).exclude(status=OnboardingStatus.OFFBOARDED)
        in_environment = Announcement.environments.through.objects.filter(
            announcement_id=OuterRef("pk"), environment_id__in=works_in.values("environment_id")
        )
        return self.filter(Q(audience=Audience.ALL_PARTNERS) | Exists(named) | Exists(in_environment))

    def for_partner(self, user: User, now: datetime | None = None) -> AnnouncementQuerySet:
        """What a partner user is shown: current announcements (at `now`, default now) whose audience takes in their
        vendor; nothing for anyone who is not a partner."""
        if user is None or not user.is_authenticated or not user.vendor_id:
            return self.none()
        return self.current(now).for_vendor(user.vendor_id)

    def unacknowledged_by(self, user: User) -> AnnouncementQuerySet:
        return self.exclude(acknowledgements__user=user)


class Announcement(models.Model):
    """A notice to partners, shown on every page of their portal until they acknowledge it or it expires."""

    title = models.CharField(max_length=200)
    body = models.TextField(max_length=settings.PORTICO_MAX_TEXT_LENGTH)
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.ALL_PARTNERS)
    vendors = models.ManyToManyField(Vendor, blank=True, related_name="+")
    environments = models.ManyToManyField(Environment, blank=True, related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: shown until acknowledged.")
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    posted_at = models.DateTimeField(default=timezone.now)

    objects = AnnouncementQuerySet.as_manager()

    class Meta:
        ordering = ["-posted_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class Acknowledgement(models.Model):
    """A partner user read an announcement; once per user."""

    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="acknowledgements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.UniqueConstraint(fields=["announcement", "user"], name="one_ack_per_user")]

    def __str__(self) -> str:
        return f"{self.user} acknowledged {self.announcement}"
