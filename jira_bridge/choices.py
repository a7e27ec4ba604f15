"""Choices of the Jira models."""

from django.db import models


class JiraLinkOrigin(models.TextChoices):
    PORTAL = "portal", "Mirrored from the portal"
    INTAKE = "intake", "Filed in the Jira intake project"


class JiraPushOutcome(models.TextChoices):
    PUSHED = "pushed", "Pushed"
    UNCHANGED = "unchanged", "Already so in Jira"
    SKIPPED = "skipped", "Skipped"


class DeliveryOutcome(models.TextChoices):
    PENDING = "pending", "Waiting to be processed"
    APPLIED = "applied", "Applied"
    IGNORED = "ignored", "Acknowledged and ignored"
    CONFLICT = "conflict", "Recorded as a conflict"
    FAILED = "failed", "Failed"
