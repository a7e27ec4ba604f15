"""Reads: the one visibility gate and the chainable filters every list builds on."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Self

from django.db import models
from django.db.models import Q

from .choices import OPEN_STATES, RequestState

if TYPE_CHECKING:
    from portal.models import User


class ServiceRequestQuerySet(models.QuerySet):
    """Chainable filters over requests, starting from `visible_to(user)`."""

    def visible_to(self, user: User) -> Self:
        """eGov DevOps and the PM see all; vendors see their queue; requesters see their teams' requests."""
        from .permissions import VIEW_ALL

        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.has_perm(VIEW_ALL):
            return self
        scope = Q(team__in=user.teams.values("pk")) | Q(requester=user)
        if user.vendor_id:
            scope |= Q(vendor_id=user.vendor_id)
        return self.filter(scope)

    def open(self) -> Self:
        return self.filter(state__in=OPEN_STATES)

    def awaiting_triage(self) -> Self:
        return self.filter(state=RequestState.SUBMITTED)

    def awaiting_approval(self) -> Self:
        return self.filter(state=RequestState.PENDING_APPROVAL)

    def queue_for(self, vendor_id: int) -> Self:
        """A vendor's open work, soonest due first."""
        return self.filter(vendor_id=vendor_id).open().order_by(models.F("response_due_at").asc(nulls_last=True), "pk")

    def created_between(self, start: datetime, end: datetime) -> Self:
        return self.filter(created_at__gte=start, created_at__lt=end)

    def search(self, text: str) -> Self:
        """Free text over the reference and the title."""
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(reference__iexact=text) | Q(reference__icontains=text) | Q(title__icontains=text))

    def with_related(self) -> Self:
        return self.select_related("environment", "stack", "team", "vendor", "requester", "assignee")


class RequestEventQuerySet(models.QuerySet):
    """Events are append-only: no bulk update or delete path exists."""

    def update(self, **kwargs: object) -> int:
        from .models import AppendOnlyError

        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        from .models import AppendOnlyError

        raise AppendOnlyError("Audit events cannot be deleted.")

    def visible_to(self, user: User) -> Self:
        """Events of requests the user can see; internal notes only for staff and the request's vendor."""
        from .models import ServiceRequest
        from .permissions import VIEW_ALL

        events = self.filter(service_request__in=ServiceRequest.objects.visible_to(user).values("pk"))
        if user.is_authenticated and user.has_perm(VIEW_ALL):
            return events
        if user.is_authenticated and user.vendor_id:
            return events.filter(Q(internal=False) | Q(service_request__vendor_id=user.vendor_id))
        return events.filter(internal=False)
