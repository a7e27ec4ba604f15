"""Who an announcement is for, and who of them has read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from requests_app.choices import OnboardingStatus
from requests_app.models import Vendor, VendorOnboarding

from .models import Acknowledgement, Announcement, Audience

if TYPE_CHECKING:
    from portal.models import User


def announcement_audience_vendors(announcement: Announcement) -> QuerySet[Vendor]:
    """The vendors whose people are shown it: every vendor, or those named plus those working in an environment
    named (the same rule as `AnnouncementQuerySet.for_vendor`, from the other side)."""
    if announcement.audience == Audience.ALL_PARTNERS:
        return Vendor.objects.all()
    working = VendorOnboarding.objects.filter(environment__in=announcement.environments.all()).exclude(
        status=OnboardingStatus.OFFBOARDED
    )
    return Vendor.objects.filter(Q(pk__in=announcement.vendors.values("pk")) | Q(pk__in=working.values("vendor_id")))


@dataclass(frozen=True)
class ReadStatus:
    """Who acknowledged an announcement and when, and which of its audience has not yet."""

    acknowledged: list[Acknowledgement]
    pending: list[User]


def announcement_read_status(announcement: Announcement) -> ReadStatus:
    """Acknowledgements oldest first; the audience's active people who have not acknowledged, by vendor and name."""
    acknowledged = list(announcement.acknowledgements.select_related("user", "user__vendor"))
    pending = (
        get_user_model()
        .objects.filter(is_active=True, vendor__in=announcement_audience_vendors(announcement))
        .exclude(pk__in=[ack.user_id for ack in acknowledged])
        .select_related("vendor")
        .order_by("vendor__name", "username")
    )
    return ReadStatus(acknowledged=acknowledged, pending=list(pending))
