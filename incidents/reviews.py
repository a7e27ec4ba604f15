"""Post-incident review services: opening a review (pre-filled from the request's timeline), editing, publishing,
and filing its action items as follow-up requests."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from portal.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from requests_app import permissions as perms
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.models import ServiceRequest, Team
from requests_app.services import request_file

from .review_models import ActionItem, IncidentReview, ReviewStatus

if TYPE_CHECKING:
    from portal.models import User

REVIEWED_PRIORITIES = (Priority.P0, Priority.P1)
REVIEWABLE_STATES = (RequestState.RESOLVED, RequestState.CLOSED)
EDITABLE_FIELDS = ("root_cause", "impact", "went_well", "went_badly")


def review_needed(service_request: ServiceRequest) -> bool:
    """A P0/P1 production issue that is resolved (or closed) gets a review."""
    return (
        service_request.request_type == RequestType.PRODUCTION_ISSUE
        and service_request.priority in REVIEWED_PRIORITIES
        and service_request.state in REVIEWABLE_STATES
    )


def review_timeline(service_request: ServiceRequest) -> tuple[list[dict[str, str]], int]:
    """The incident as its events tell it: filed, picked up, state changes, resolved, with times; and how many
    public comments were written (their words stay on the request, where their visibility rules apply)."""
    entries: list[dict[str, str]] = []
    comments = 0
    for event in service_request.events.order_by("created_at", "pk"):
        if event.kind == EventKind.COMMENT:
            comments += not event.internal
            continue
        if event.kind == EventKind.FILED:
            text = f"Filed by {event.actor_label}"
        elif event.kind == EventKind.PICK_UP:
            text = f"Picked up by {event.actor_label}"
        elif event.kind == EventKind.RESOLVE:
            text = f"Resolved by {event.actor_label}"
        elif event.kind == EventKind.PRIORITY_CHANGED:
            text = event.message or "Priority changed"
        elif event.from_state and event.to_state and event.from_state != event.to_state:
            text = f"{event.get_kind_display()}: {_state(event.from_state)} → {_state(event.to_state)}"
        else:
            continue
        entries.append({"at": event.created_at.isoformat(), "kind": event.kind, "text": text})
    return entries, comments


def _state(value: str) -> str:
    return str(RequestState(value).label).lower()


def request_visible(user: User, reference: str) -> ServiceRequest:
    """The request `reference` if `user` may see it; NotFound (the same answer as for none) otherwise."""
    service_request = ServiceRequest.objects.visible_to(user).select_related("team").filter(reference=reference).first()
    if service_request is None:
        raise NotFound(f"No request {reference}.")
    return service_request


def _visible_or_404(service_request: ServiceRequest, user: User) -> None:
    if not ServiceRequest.objects.visible_to(user).filter(pk=service_request.pk).exists():
        raise NotFound(f"No request {service_request.reference}.")


@transaction.atomic
def review_open(service_request: ServiceRequest, *, actor: User | None) -> IncidentReview:
    """The request's review, made now (a draft pre-filled from its timeline) if it has none; `actor` None is
    Portico opening it on resolve."""
    if actor is not None:
        _visible_or_404(service_request, actor)
    existing = IncidentReview.objects.filter(service_request=service_request).first()
    if existing is not None:
        return existing
    if not review_needed(service_request):
        raise Conflict("Only resolved P0 and P1 production issues have a post-incident review.")
    timeline, comments = review_timeline(service_request)
    return IncidentReview.objects.create(service_request=service_request, timeline=timeline, comment_count=comments)


def review_for(service_request: ServiceRequest, *, user: User) -> IncidentReview:
    """The request's review as `user` may see it (404 when they cannot see the request, or there is none)."""
    review = (
        IncidentReview.objects.visible_to(user)
        .select_related("service_request", "published_by")
        .filter(service_request=service_request)
        .first()
    )
    if review is None:
        raise NotFound(f"{service_request.reference} has no post-incident review.")
    return review


def review_can_edit(review: IncidentReview, user: User) -> bool:
    """While it is a draft: the PM, the request's vendor and the requester's team write it together."""
    service_request = review.service_request
    return review.status == ReviewStatus.DRAFT and (
        perms.is_program_manager(user)
        or perms.is_vendor_member(service_request, user)
        or perms.is_requester_side(service_request, user)
    )


def review_can_publish(review: IncidentReview, user: User) -> bool:
    """The PM, or the lead of the vendor that worked the incident."""
    return review.status == ReviewStatus.DRAFT and (
        perms.is_program_manager(user) or perms.is_vendor_lead(review.service_request, user)
    )


@transaction.atomic
def review_update(review: IncidentReview, *, actor: User, changes: dict[str, Any]) -> IncidentReview:
    """Write the review's findings (root cause, impact, what went well and badly) while it is a draft."""
    review = IncidentReview.objects.select_for_update().select_related("service_request").get(pk=review.pk)
    _visible_or_404(review.service_request, actor)
    if review.status != ReviewStatus.DRAFT:
        raise Conflict("The review is published; it can no longer be edited.")
    if not review_can_edit(review, actor):
        raise Forbidden("Only the program manager, the vendor and the requester's team edit the review.")
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={name: "Not a field of the review." for name in unknown})
    for name, value in changes.items():
        setattr(review, name, (value or "").strip())
    review.updated_at = timezone.now()
    review.full_clean()
    review.save()
    return review


@transaction.atomic
def review_publish(review: IncidentReview, *, actor: User) -> IncidentReview:
    """Publish a draft review: the PM or the vendor lead, once the root cause is written."""
    review = IncidentReview.objects.select_for_update().select_related("service_request").get(pk=review.pk)
    _visible_or_404(review.service_request, actor)
    if review.status != ReviewStatus.DRAFT:
        raise Conflict("The review is already published.")
    if not review_can_publish(review, actor):
        raise Forbidden("Only the program manager or the vendor's lead publishes a review.")
    if not review.root_cause.strip():
        raise ValidationFailed("Write the root cause before publishing.", fields={"root_cause": "Required to publish."})
    review.status = ReviewStatus.PUBLISHED
    review.published_at = timezone.now()
    review.published_by = actor
    review.save(update_fields=["status", "published_at", "published_by"])
    return review


@transaction.atomic
def review_action_item_add(
    review: IncidentReview,
    *,
    actor: User,
    title: str,
    description: str = "",
    due_on: date,
    owner: User | None = None,
    team: Team | None = None,
    request_type: str = RequestType.TROUBLESHOOTING,
    priority: str = Priority.P3,
) -> ActionItem:
    """File a follow-up request through the normal filing service (as `actor`, for `team`), needed by `due_on`,
    owned by `owner`, who must be able to see it."""
    service_request = review.service_request
    _visible_or_404(service_request, actor)
    if not review_can_edit(review, actor):
        raise Forbidden("Only the program manager, the vendor and the requester's team add action items.")
    follow_up = request_file(
        actor=actor,
        title=title,
        description=(description or "").strip()
        or f"Action item from the post-incident review of {service_request.reference}.",
        request_type=request_type,
        priority=priority,
        environment=service_request.environment,
        stack=service_request.stack,
        team=team or service_request.team,
        needed_by=due_on,
        origin={"review_of": service_request.reference},
    )
    if owner is not None and not ServiceRequest.objects.visible_to(owner).filter(pk=follow_up.pk).exists():
        raise ValidationFailed(
            "The owner cannot see the follow-up request.", fields={"owner": "Choose someone on the team or the PM."}
        )
    return ActionItem.objects.create(review=review, follow_up=follow_up, owner=owner, due_on=due_on, created_by=actor)
