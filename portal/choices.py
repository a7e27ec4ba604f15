"""Enumerations of the kernel's own models."""

from django.db import models


class VendorRole(models.TextChoices):
    """What a partner's member does for their vendor (`User.vendor_role`)."""

    ENGINEER = "engineer", "Engineer"
    LEAD = "lead", "Lead"
