"""Reads over runs and grants: children of a request are visible exactly when their request is."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Self

from django.db import models

from .choices import ACTIVE_RUN_STATUSES

if TYPE_CHECKING:
    from portal.models import User


class ProvisioningRunQuerySet(models.QuerySet):
    """Runs, gated by their request's visibility."""

    def visible_to(self, user: User) -> Self:
        """Runs of requests `user` can see."""
        from requests_app.models import ServiceRequest

        return self.filter(service_request__in=ServiceRequest.objects.visible_to(user).values("pk"))

    def active(self) -> Self:
        return self.filter(status__in=ACTIVE_RUN_STATUSES)


class AccessGrantQuerySet(models.QuerySet):
    """Just-in-time grants, gated by their request's visibility."""

    def visible_to(self, user: User) -> Self:
        """Grants of requests `user` can see."""
        from requests_app.models import ServiceRequest

        return self.filter(service_request__in=ServiceRequest.objects.visible_to(user).values("pk"))

    def live(self) -> Self:
        return self.filter(revoked_at__isnull=True)

    def expired(self, now: datetime) -> Self:
        """Grants past their expiry and not yet revoked: the revoke scan's work."""
        return self.live().filter(expires_at__lte=now)
