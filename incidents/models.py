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
    escalate_minutes = models.PositiveSmallIntegerField(
        "Escalate pages after (minutes)", null=True, blank=True,
        help_text="An unacknowledged page goes to the next person after this long; blank: the portal's default.",
    )  # fmt: skip
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
    phone = models.CharField(
        "Phone for pages", max_length=32, blank=True, help_text="Where an SMS page goes, in international form."
    )

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


class PageLevel(models.TextChoices):
    """Who a page goes to, in escalation order."""

    PRIMARY = "primary", "Primary on call"
    SECONDARY = "secondary", "Secondary on call"
    VENDOR_LEAD = "vendor_lead", "Vendor lead"
    EGOV_DEVOPS = "egov_devops", "eGov DevOps"


PAGE_LEVEL_ORDER = [PageLevel.PRIMARY, PageLevel.SECONDARY, PageLevel.VENDOR_LEAD, PageLevel.EGOV_DEVOPS]


class SmsStatus(models.TextChoices):
    NONE = "none", "No phone number"
    PENDING = "pending", "Waiting to send"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class PageQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> PageQuerySet:
        """Pages of the requests the person may see."""
        from requests_app.models import ServiceRequest

        return self.filter(service_request__in=ServiceRequest.objects.visible_to(user))


class Page(models.Model):
    """One person paged about one urgent production issue, at one escalation level."""

    service_request = models.ForeignKey("requests_app.ServiceRequest", on_delete=models.CASCADE, related_name="pages")
    target = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pages")
    level = models.CharField(max_length=16, choices=PageLevel)
    channel = models.CharField(
        max_length=64,
        blank=True,
        help_text='The SMS delivery\'s claim and outcome: empty until a worker takes it, "sending" meanwhile, then '
        '"SMS" or "none" (e-mail and chat go out as deliveries of their own).',
    )
    phone = models.CharField(max_length=32, blank=True)
    sent_at = models.DateTimeField(default=now)
    escalate_after = models.DateTimeField(db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    sms_status = models.CharField(max_length=16, choices=SmsStatus, default=SmsStatus.NONE)
    sms_attempts = models.PositiveSmallIntegerField(default=0)
    sms_next_at = models.DateTimeField(null=True, blank=True)
    sms_error = models.CharField(max_length=500, blank=True)

    objects = PageQuerySet.as_manager()

    class Meta:
        ordering = ["sent_at", "pk"]
        constraints = [
            # A second escalation scan never pages the same person at the same level twice.
            models.UniqueConstraint(fields=["service_request", "level", "target"], name="page_once_per_level_target"),
        ]

    def __str__(self) -> str:
        return f"{self.target} paged ({self.get_level_display()}) for {self.service_request_id}"


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
