"""Hypercare services: opening a window after a release or deployment, and linking production issues filed in it."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from portal.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from requests_app import permissions as perms
from requests_app.choices import Priority, RequestState, RequestType
from requests_app.models import ServiceRequest
from requests_app.services import request_update

from .hypercare_models import HypercareIssue, HypercareWindow

if TYPE_CHECKING:
    from portal.models import User

HYPERCARE_TYPES = (RequestType.RELEASE, RequestType.DEPLOYMENT_SUPPORT)
OPENABLE_STATES = (RequestState.RESOLVED, RequestState.CLOSED)
MIN_DAYS, MAX_DAYS = 1, 60
PRIORITY_ORDER = [Priority.P0, Priority.P1, Priority.P2, Priority.P3, Priority.P4]


def priority_raised(priority: str) -> str:
    """One level more urgent (P2 → P1); P0 stays P0."""
    index = PRIORITY_ORDER.index(Priority(priority))
    return PRIORITY_ORDER[max(index - 1, 0)]


def hypercare_can_open(service_request: ServiceRequest, user: User) -> bool:
    """The PM or the requester's team, for a resolved or closed release / deployment support without a window."""
    return (
        service_request.request_type in HYPERCARE_TYPES
        and service_request.state in OPENABLE_STATES
        and (perms.is_program_manager(user) or perms.is_requester_side(service_request, user))
        and not HypercareWindow.objects.filter(service_request=service_request).exists()
    )


@transaction.atomic
def hypercare_open(
    service_request: ServiceRequest, *, actor: User, days: int | None = None, raise_priority: bool = True
) -> HypercareWindow:
    """Open a window of `days` (default PORTICO_HYPERCARE_DEFAULT_DAYS) from now over the request's environment
    and stack; production issues filed there meanwhile are linked to it."""
    if not ServiceRequest.objects.visible_to(actor).filter(pk=service_request.pk).exists():
        raise NotFound(f"No request {service_request.reference}.")
    if not (perms.is_program_manager(actor) or perms.is_requester_side(service_request, actor)):
        raise Forbidden("Only the program manager or the requester's team can open hypercare.")
    if service_request.request_type not in HYPERCARE_TYPES:
        raise ValidationFailed("Only releases and deployment support requests have hypercare.")
    if service_request.state not in OPENABLE_STATES:
        raise Conflict(f"{service_request.reference} is not resolved yet; hypercare starts after the release.")
    days = settings.PORTICO_HYPERCARE_DEFAULT_DAYS if days is None else days
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValidationFailed(
            "Hypercare lasts 1 to 60 days.", fields={"days": f"Choose between {MIN_DAYS} and {MAX_DAYS} days."}
        )
    if HypercareWindow.objects.filter(service_request=service_request).exists():
        raise Conflict(f"{service_request.reference} already has a hypercare window.")
    starts_at = timezone.now()
    window = HypercareWindow(
        service_request=service_request,
        environment_id=service_request.environment_id,
        stack_id=service_request.stack_id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(days=days),
        raise_priority=raise_priority,
        opened_by=actor,
    )
    window.full_clean()
    window.save()
    return window


def hypercare_link_issue(service_request: ServiceRequest) -> list[HypercareIssue]:
    """Link a just-filed production issue to every window open over its environment and stack, and raise it one
    level (once, even inside two windows) through the normal priority change, unless turned off."""
    # Decided before the transaction: every filing asks, and most are not production issues (a savepoint for
    # nothing was two round trips of each).
    if service_request.request_type != RequestType.PRODUCTION_ISSUE:
        return []
    return _link_issue(service_request)


@transaction.atomic
def _link_issue(service_request: ServiceRequest) -> list[HypercareIssue]:
    windows = list(
        HypercareWindow.objects.covering(
            environment_id=service_request.environment_id,
            stack_id=service_request.stack_id,
            at=service_request.created_at,
        ).select_related("service_request")
    )
    if not windows:
        return []
    filed = service_request.priority
    raising = settings.PORTICO_HYPERCARE_RAISE_PRIORITY and any(w.raise_priority for w in windows)
    raised = priority_raised(filed) if raising else filed
    links = [
        HypercareIssue.objects.create(
            window=window,
            service_request=service_request,
            filed_priority=filed,
            raised_to="" if raised == filed else raised,
        )
        for window in windows
    ]
    if raised != filed:
        references = ", ".join(w.service_request.reference for w in windows)
        request_update(
            service_request,
            actor=None,
            changes={"priority": raised},
            reason=f"Filed during hypercare after {references}: raised one level",
        )
        # The caller still holds the instance it filed; it should show the priority the issue now has.
        service_request.priority = raised
    return links


def hypercare_windows(*, user: User) -> QuerySet[HypercareWindow]:
    """The windows `user` may see, each with the linked issues they may see and counts by priority."""
    visible_issues = ServiceRequest.objects.visible_to(user)
    return (
        HypercareWindow.objects.visible_to(user)
        .select_related("service_request", "environment", "stack")
        .prefetch_related(
            Prefetch(
                "links",
                queryset=HypercareIssue.objects.filter(service_request__in=visible_issues).select_related(
                    "service_request"
                ),
                to_attr="visible_links",
            )
        )
    )


def priority_counts(window: HypercareWindow) -> dict[str, int]:
    """How many of the window's visible issues have each priority now (every priority present, zeros too)."""
    counts = {p.value: 0 for p in PRIORITY_ORDER}
    for link in getattr(window, "visible_links", []):
        counts[link.service_request.priority] += 1
    return counts
