"""Reusable comment texts: each vendor's own set, and the program manager's (no vendor)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from requests_app import permissions as perms
from requests_app.models import Vendor

if TYPE_CHECKING:
    from portal.models import User


class CannedResponseQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> CannedResponseQuerySet:
        """Who may insert which: a vendor's people their vendor's set; the PM and eGov DevOps the PM's set."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if perms.is_staff_side(user):
            return self.filter(vendor__isnull=True)
        if user.vendor_id:
            return self.filter(vendor_id=user.vendor_id)
        return self.none()

    def managed_by(self, user: User) -> CannedResponseQuerySet:
        """Who may edit which: a vendor lead their vendor's set; the program manager theirs."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if perms.is_program_manager(user):
            return self.filter(vendor__isnull=True)
        if user.vendor_id and perms.is_lead(user):
            return self.filter(vendor_id=user.vendor_id)
        return self.none()


class CannedResponse(models.Model):
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.CASCADE, related_name="canned_responses",
        help_text="Empty: the program manager's.",
    )  # fmt: skip
    title = models.CharField(max_length=100)
    body = models.TextField(max_length=settings.PORTICO_MAX_TEXT_LENGTH)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = CannedResponseQuerySet.as_manager()

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "title"], name="canned_title_unique_per_vendor", nulls_distinct=False
            ),
        ]

    def __str__(self) -> str:
        return self.title
