"""Break-glass access: during an open P0 production issue, whoever is on call for its vendor there (primary or
secondary, now) takes a short just-in-time grant at once, without approval. eGov DevOps reviews each one within
PORTICO_BREAK_GLASS_REVIEW_HOURS; the grant expires like any other (provisioning's expiry scan)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from backoffice.audit import require_reason
from portal.exceptions import Forbidden, NotFound, ValidationFailed
from provisioning.models import AccessGrant, ProvisioningRun
from provisioning.services import run_start_break_glass
from requests_app import permissions as perms
from requests_app.choices import OPEN_STATES, EventKind, Priority, RequestType
from requests_app.models import ServiceRequest
from requests_app.timeline import timeline_append

from .selectors import on_call_at

if TYPE_CHECKING:
    from portal.models import User


def _refusal(service_request: ServiceRequest, user: User) -> str:
    """Why `user` may not take break-glass access on the request now ("" when they may)."""
    vendor = service_request.vendor
    if not (
        service_request.request_type == RequestType.PRODUCTION_ISSUE
        and service_request.priority == Priority.P0
        and service_request.state in OPEN_STATES
        and vendor is not None
    ):
        return "Break-glass access is only for an open P0 production issue with a vendor."
    on_call = on_call_at(vendor, service_request.environment, timezone.now())
    if on_call is None or user not in (on_call.primary, on_call.secondary):
        return f"Only {vendor}'s primary or secondary on call for {service_request.environment} may."
    return ""


def break_glass_allowed(service_request: ServiceRequest, user: User) -> bool:
    return bool(user.is_authenticated) and not _refusal(service_request, user)


def break_glass_take(
    service_request: ServiceRequest, *, actor: User, parameters: dict[str, Any], reason: str
) -> ProvisioningRun:
    """Grant `actor` (as their own user name) access for at most PORTICO_BREAK_GLASS_MAX_HOURS, starting now."""
    if not ServiceRequest.objects.visible_to(actor).filter(pk=service_request.pk).exists():
        raise NotFound(f"No request {service_request.reference}.")
    if refusal := _refusal(service_request, actor):
        raise Forbidden(refusal)
    reason = require_reason(reason)
    hours = parameters.get("duration_hours")
    limit = settings.PORTICO_BREAK_GLASS_MAX_HOURS
    if not isinstance(hours, int) or not 1 <= hours <= limit:
        raise ValidationFailed(
            f"Break-glass access lasts 1 to {limit} hours.", fields={"duration_hours": f"1 to {limit} hours."}
        )
    return run_start_break_glass(
        service_request, actor=actor, parameters={**parameters, "username": actor.username}, reason=reason
    )


def break_glass_grants(service_request: ServiceRequest | None = None) -> QuerySet[AccessGrant]:
    grants = AccessGrant.objects.filter(break_glass=True).select_related("service_request", "reviewed_by")
    return grants.filter(service_request=service_request) if service_request is not None else grants


def review_due(grant: AccessGrant) -> datetime:
    return grant.granted_at + timedelta(hours=settings.PORTICO_BREAK_GLASS_REVIEW_HOURS)


def break_glass_overdue(*, now: datetime | None = None) -> QuerySet[AccessGrant]:
    """Break-glass grants nobody reviewed in time, for the approvals page."""
    now = now or timezone.now()
    since = now - timedelta(hours=settings.PORTICO_BREAK_GLASS_REVIEW_HOURS)
    return break_glass_grants().filter(reviewed_at__isnull=True, granted_at__lte=since)


@transaction.atomic
def break_glass_review(grant_id: int, *, actor: User, note: str) -> AccessGrant:
    """eGov DevOps looks back at a break-glass grant and says what they found."""
    if not perms.is_egov_devops(actor):
        raise Forbidden("Only eGov DevOps reviews break-glass access.")
    note = require_reason(note)
    grant = AccessGrant.objects.select_for_update(of=("self",)).filter(pk=grant_id, break_glass=True).first()
    if grant is None:
        raise NotFound("No such break-glass grant.")
    if grant.reviewed_at is None:
        grant.reviewed_at, grant.reviewed_by, grant.review_note = timezone.now(), actor, note
        grant.save(update_fields=["reviewed_at", "reviewed_by", "review_note"])
        timeline_append(
            grant.service_request,
            actor=actor,
            kind=EventKind.BREAK_GLASS_REVIEWED,
            message=f"Break-glass access of {grant.subject} reviewed: {note}",
            payload={"grant": grant.pk},
        )
    return grant
