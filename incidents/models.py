"""On-call rotas per vendor × environment, their ordered members, and overrides (someone covers a slot a while)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import localdate, now

from portal.timefmt import validate_timezone_name
from requests_app import permissions as perms
from requests_app.models import Environment, Vendor

if TYPE_CHECKING:
    from portal.models import User


def new_calendar_token() -> str:
    return secrets.token_urlsafe(24)


class OnCallRotaQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> OnCallRotaQuerySet:
        """The program manager and eGov DevOps see every rota; a vendor's people only their vendor's."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if perms.is_staff_side(user):
            return self
        if user.vendor_id:
            return self.filter(vendor_id=user.vendor_id)
        return self.none()

    def managed_by(self, user: User) -> OnCallRotaQuerySet:
        """The program manager keeps every rota; a vendor lead their vendor's."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if perms.is_program_manager(user):
            return self
        if user.vendor_id and perms.is_lead(user):
            return self.filter(vendor_id=user.vendor_id)
        return self.none()


class OnCallRota(models.Model):
    """Who a vendor has on call for one environment: members take shifts in turn; the next one is secondary."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="oncall_rotas")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="oncall_rotas")
    shift_days = models.PositiveSmallIntegerField(
        "Shift length (days)", default=7, help_text="How long each member is primary before handing over."
    )
    starts_on = models.DateField("First shift starts on", default=localdate)
    handover_time = models.TimeField("Handover time", default="09:00")
    timezone = models.CharField(
        "Time zone", max_length=64, default="Asia/Kolkata", validators=[validate_timezone_name],
        help_text="The handover time is in this zone (e.g. Asia/Kolkata).",
    )  # fmt: skip
    calendar_token = models.CharField(max_length=64, default=new_calendar_token, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=now)

    objects = OnCallRotaQuerySet.as_manager()

    class Meta:
        ordering = ["vendor__name", "environment__name"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "environment"], name="oncall_one_rota_per_vendor_environment"),
            models.CheckConstraint(
                condition=Q(shift_days__gte=1) & Q(shift_days__lte=28), name="oncall_shift_one_to_28_days"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vendor} on call for {self.environment}"


class OnCallMember(models.Model):
    """One place in a rota's order."""

    rota = models.ForeignKey(OnCallRota, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["rota", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rota", "user"], name="oncall_member_once_per_rota"),
            models.UniqueConstraint(fields=["rota", "position"], name="oncall_member_one_per_position"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.user}"


class OverrideSlot(models.TextChoices):
    PRIMARY = "primary", "Primary"
    SECONDARY = "secondary", "Secondary"


class OnCallOverride(models.Model):
    """`member` covers `slot` from `starts_at` to `ends_at` instead of whoever the rota puts there."""

    rota = models.ForeignKey(OnCallRota, on_delete=models.CASCADE, related_name="overrides")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    slot = models.CharField(max_length=16, choices=OverrideSlot, default=OverrideSlot.PRIMARY)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["starts_at", "created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="oncall_override_ends_after"),
        ]

    def __str__(self) -> str:
        return f"{self.member} covers {self.get_slot_display().lower()} for {self.rota}"


# Hypercare and reviews live in their own modules; Django finds models through this one.
from .hypercare_models import HypercareIssue, HypercareWindow  # noqa: E402
from .review_models import ActionItem, IncidentReview, ReviewStatus  # noqa: E402

__all__ = [
    "ActionItem",
    "HypercareIssue",
    "HypercareWindow",
    "IncidentReview",
    "OnCallMember",
    "OnCallOverride",
    "OnCallRota",
    "OverrideSlot",
    "ReviewStatus",
]
