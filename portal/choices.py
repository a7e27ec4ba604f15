"""Enumerations of the kernel's own models."""

from django.db import models


class VendorRole(models.TextChoices):
    """What a partner's member does for their vendor (`User.vendor_role`)."""

    ENGINEER = "engineer", "Engineer"
    LEAD = "lead", "Lead"


class TokenScope(models.TextChoices):
    """What a personal API token may do (`ApiToken.scopes`); each is asked for separately."""

    READ = "read", "Read: look things up (GET)"
    WRITE = "write", "Write: file, change and comment (POST, PATCH, DELETE)"
    TOKENS = "tokens", "Tokens: create and revoke your API tokens"
