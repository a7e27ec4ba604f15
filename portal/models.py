"""People: one user model for requesters, vendor engineers and leads, the PM and eGov DevOps."""

from django.contrib.auth.models import AbstractUser
from django.db import models

from requests_app.choices import VendorRole


class User(AbstractUser):
    """A portal user; `vendor` is set for partner engineers and leads, and scopes what they see."""

    vendor = models.ForeignKey(
        "requests_app.Vendor", null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    vendor_role = models.CharField(max_length=16, choices=VendorRole, blank=True)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def role_label(self) -> str:
        from .roles import role_of

        return role_of(self).label
