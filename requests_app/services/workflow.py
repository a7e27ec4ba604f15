"""The workflow: each transition of a request under a row lock, with its permission check and audit event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from portal.exceptions import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from sla import services as sla
from sla.choices import PauseReason

from .. import permissions as perms
from ..choices import RATING_MAX, RATING_MIN, RequestState
from ..compiled import request_locked
from ..models import RequestEvent, ServiceRequest, Vendor
from ..routing import routing_suggest, vendor_is_live
from ..timeline import timeline_append
from .filing import request_needed_by_check, request_p4_dated_check

if TYPE_CHECKING:
    from portal.models import User


def allowed_transitions(service_request: ServiceRequest, user: User | None) -> list[str]:
    """Names of the transitions this user may run on this request now, in the workflow's order."""
    if user is None:
        available = {t.name for t in service_request.get_available_state_transitions()}
    else:
        available = {t.name for t in service_request.get_available_user_state_transitions(user)}
    return [name for name in TRANSITIONS if name in available]


def request_transition_check(service_request: ServiceRequest, name: str, *, actor: User | None) -> None:
    """Raise what running `name` as `actor` now would: NotFound, InvalidTransition (409) or Forbidden (403).

    For a request the caller found through `visible_to(actor)`: visibility is not looked at again."""
    # Callers that parse a transition's input (the API) ask first, so a refusal never hides behind a 400.
    method = getattr(service_request, name, None)
    if name not in TRANSITIONS or method is None:
        raise NotFound(f"There is no transition called “{name}”.")
    if not can_proceed(method):
        raise InvalidTransition(
            f"Cannot {TRANSITIONS[name].label.lower()} a request that is "
            f"{service_request.get_state_display().lower()}.",
            extra={"state": service_request.state, "allowed": allowed_transitions(service_request, actor)},
        )
    if actor is not None and not has_transition_perm(method, actor):
        raise Forbidden(
            f"You may not {TRANSITIONS[name].label.lower()} this request.",
            extra={"state": service_request.state, "allowed": allowed_transitions(service_request, actor)},
        )


@transaction.atomic
def request_transition(
    service_request: ServiceRequest,
    name: str,
    *,
    actor: User | None,
    message: str = "",
    payload: dict[str, Any] | None = None,
    prepare: Callable[[ServiceRequest], None] | None = None,
    pause_reason: str = "",
    **arguments: Any,
) -> tuple[ServiceRequest, RequestEvent]:
    """Run transition `name` as `actor` (None means Portico itself) under a row lock, and append it to the timeline.
    `pause_reason` says why the work now waits (an escalation's); the SLA policy decides whether that pauses."""
    # The lock is taken through the visibility gate, so one query both hides and locks the row; the
    # environment and its calendar come along for the SLA clocks (their rows are not locked).
    # Compiled once per process and viewer shape (requests_app.compiled): building it was a share of every write.
    locked = request_locked(actor, service_request.pk)
    if locked is None:
        raise NotFound(f"No request {service_request.reference}.")
    request_transition_check(locked, name, actor=actor)
    method = getattr(locked, name)
    before = locked.state
    if prepare:
        prepare(locked)  # field changes the transition's target depends on (e.g. triage's type)
    method(**arguments)
    try:
        locked.save()
    except ConcurrentTransition as exc:
        raise Conflict("Somebody else changed this request at the same time; reload and try again.") from exc
    event = timeline_append(
        locked,
        actor=actor,
        kind=name,
        message=message.strip(),
        payload=payload,
        from_state=before,
        to_state=locked.state,
    )
    sla.sla_on_transition(locked, name=name, before=before, at=event.created_at, pause_reason=pause_reason)
    return locked, event


def _require(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(f"{what} is required.", fields={"reason": f"{what} is required."})
    return reason


def _vendor_must_be_live(vendor: Vendor, service_request: ServiceRequest) -> None:
    if not vendor_is_live(vendor_id=vendor.pk, environment_id=service_request.environment_id):
        raise ValidationFailed(
            f"{vendor} is not live in {service_request.environment}.",
            fields={"vendor": f"{vendor} is not live in {service_request.environment}; choose a live vendor."},
        )


@transaction.atomic
def request_triage(
    service_request: ServiceRequest,
    *,
    actor: User,
    reason: str = "",
    vendor: Vendor | None = None,
    priority: str | None = None,
    request_type: str | None = None,
    affects_production: bool | None = None,
    **_: Any,
) -> ServiceRequest:
    """Confirm type and priority, choose the vendor (routing suggests one) and queue or send for approval."""
    changes: dict[str, Any] = {}
    if priority and priority != service_request.priority:
        changes["priority"] = {"from": service_request.priority, "to": priority}
    if request_type and request_type != service_request.request_type:
        changes["request_type"] = {"from": service_request.request_type, "to": request_type}
    if changes and not (reason or "").strip():
        raise ValidationFailed(
            "Say why the priority or type changes.",
            fields={"reason": "A reason is required when changing priority or type."},
        )
    chosen = vendor or routing_suggest(service_request)
    if chosen is None:
        raise ValidationFailed(
            "No routing rule matches; choose a vendor.", fields={"vendor": "Choose the vendor that will do this work."}
        )
    _vendor_must_be_live(chosen, service_request)

    def apply(locked: ServiceRequest) -> None:
        locked.vendor = chosen
        if priority:
            locked.priority = priority
        if request_type:
            locked.request_type = request_type
        if affects_production is not None:
            locked.affects_production = affects_production
        if "priority" in changes:
            request_needed_by_check(
                priority=locked.priority, needed_by=locked.needed_by, environment=locked.environment
            )
        else:  # a P4 confirmed as it is still needs its date (one filed before the rule); its notice is not re-checked
            request_p4_dated_check(priority=locked.priority, needed_by=locked.needed_by)

    service_request, event = request_transition(
        service_request,
        "triage",
        actor=actor,
        message=reason,
        prepare=apply,
        payload={"vendor": chosen.slug, "changes": changes},
    )
    if "priority" in changes:
        sla.sla_retarget(service_request, at=event.created_at, reason=reason.strip())
    return service_request


@transaction.atomic
def request_approve(service_request: ServiceRequest, *, actor: User, reason: str = "", **_: Any) -> ServiceRequest:
    """eGov DevOps lets sensitive work into the vendor's queue; automation with complete parameters starts then
    (provisioning's handler for the approval event)."""
    return request_transition(service_request, "approve", actor=actor, message=reason)[0]


def request_deny(service_request: ServiceRequest, *, actor: User, reason: str = "", **_: Any) -> ServiceRequest:
    """eGov DevOps refuses sensitive work, saying why."""
    return request_transition(service_request, "deny", actor=actor, message=_require(reason, "A reason"))[0]


def request_pick_up(service_request: ServiceRequest, *, actor: User, reason: str = "", **_: Any) -> ServiceRequest:
    """A vendor engineer takes the request; exactly one of two simultaneous pick-ups wins."""
    return request_transition(service_request, "pick_up", actor=actor, message=reason, engineer_id=actor.pk)[0]


def request_reassign(
    service_request: ServiceRequest,
    *,
    actor: User,
    reason: str = "",
    vendor: Vendor | None = None,
    assignee: User | None = None,
    **_: Any,
) -> ServiceRequest:
    """Hand the request to another engineer (vendor lead or PM) or another vendor (PM only)."""
    target_vendor = vendor or service_request.vendor
    if target_vendor is None:
        raise ValidationFailed("Choose a vendor.", fields={"vendor": "Required."})
    if target_vendor.pk != service_request.vendor_id:
        if not perms.is_program_manager(actor):
            raise ValidationFailed(
                "Only the program manager can move a request to another vendor.",
                fields={"vendor": "Only the program manager can change the vendor."},
            )
        _vendor_must_be_live(target_vendor, service_request)
    if assignee is not None and assignee.vendor_id != target_vendor.pk:
        raise ValidationFailed(
            f"{assignee} is not an engineer of {target_vendor}.",
            fields={"assignee": f"Choose an engineer of {target_vendor}."},
        )
    if (
        target_vendor.pk == service_request.vendor_id
        and (assignee.pk if assignee else None) == service_request.assignee_id
    ):
        raise ValidationFailed("Nothing changes.", fields={"assignee": "Choose a different engineer or vendor."})
    payload = {
        "vendor": {"from": service_request.vendor_id, "to": target_vendor.pk},
        "assignee": {"from": service_request.assignee_id, "to": assignee.pk if assignee else None},
    }
    return request_transition(
        service_request,
        "reassign",
        actor=actor,
        message=reason,
        payload=payload,
        vendor_id=target_vendor.pk,
        assignee_id=assignee.pk if assignee else None,
    )[0]


def request_request_info(service_request: ServiceRequest, *, actor: User, reason: str = "", **_: Any) -> ServiceRequest:
    """The vendor asks the requester a question; the request waits on them."""
    return request_transition(service_request, "request_info", actor=actor, message=_require(reason, "The question"))[0]


def request_provide_info(service_request: ServiceRequest, *, actor: User, reason: str = "", **_: Any) -> ServiceRequest:
    """The requester answers; work resumes."""
    return request_transition(service_request, "provide_info", actor=actor, message=_require(reason, "The answer"))[0]


ESCALATION_REASONS = (PauseReason.BLOCKED, PauseReason.WAITING_ON_THIRD_PARTY, PauseReason.CHANGE_FREEZE)


def request_escalate(
    service_request: ServiceRequest, *, actor: User, reason: str = "", pause_reason: str = "", **_: Any
) -> ServiceRequest:
    """Something outside the vendor's reach blocks the work (a third party, a change freeze, or something else);
    eGov DevOps is told. Whether the SLA clocks pause for it is the request's SLA policy's decision."""
    pause_reason = pause_reason or PauseReason.BLOCKED
    if pause_reason not in ESCALATION_REASONS:
        choices = ", ".join(str(r.label) for r in ESCALATION_REASONS)
        raise ValidationFailed("Choose what the work waits on.", fields={"pause_reason": f"Choose one of: {choices}."})
    return request_transition(
        service_request,
        "escalate",
        actor=actor,
        message=_require(reason, "The blocker"),
        payload={"pause_reason": str(pause_reason)},
        pause_reason=str(pause_reason),
    )[0]


def request_unblock(service_request: ServiceRequest, *, actor: User, reason: str = "", **_: Any) -> ServiceRequest:
    """eGov DevOps or the PM clears the blocker."""
    return request_transition(service_request, "unblock", actor=actor, message=reason)[0]


def request_resolve(service_request: ServiceRequest, *, actor: User, reason: str = "", **_: Any) -> ServiceRequest:
    """The vendor says the work is done, with a resolution note."""
    note = _require(reason, "A resolution note")
    return request_transition(service_request, "resolve", actor=actor, message=note, note=note)[0]


def request_confirm(
    service_request: ServiceRequest,
    *,
    actor: User,
    reason: str = "",
    rating: int | None = None,
    rating_comment: str = "",
    **_: Any,
) -> ServiceRequest:
    """The requester agrees it is done, optionally rating the work 1–5 (CSAT) with a comment."""
    rating_comment = (rating_comment or "").strip()
    if rating is not None and not RATING_MIN <= rating <= RATING_MAX:
        message = f"A rating is a whole number from {RATING_MIN} to {RATING_MAX}."
        raise ValidationFailed(message, fields={"rating": message})
    if rating is None and rating_comment:
        message = "Give a rating to go with your comment."
        raise ValidationFailed(message, fields={"rating": message})
    payload = {"rating": rating, "rating_comment": rating_comment} if rating is not None else None
    return request_transition(
        service_request,
        "confirm",
        actor=actor,
        message=reason,
        payload=payload,
        rating=rating,
        rating_comment=rating_comment,
    )[0]


def request_reopen(service_request: ServiceRequest, *, actor: User, reason: str = "", **_: Any) -> ServiceRequest:
    """The requester says it is not done after all (within the reopen window)."""
    return request_transition(service_request, "reopen", actor=actor, message=_require(reason, "What is still wrong"))[
        0
    ]


def request_reject(service_request: ServiceRequest, *, actor: User, reason: str = "", **_: Any) -> ServiceRequest:
    """The program manager turns the request down, saying why."""
    return request_transition(service_request, "reject", actor=actor, message=_require(reason, "A reason"))[0]


def request_cancel(service_request: ServiceRequest, *, actor: User, reason: str = "", **_: Any) -> ServiceRequest:
    """The requester withdraws an open request."""
    return request_transition(service_request, "cancel", actor=actor, message=reason)[0]


def request_auto_close(service_request: ServiceRequest, *, actor: User | None = None, **_: Any) -> ServiceRequest:
    """The system closes a request resolved and quiet for the configured number of days."""
    days = settings.PORTICO_AUTO_CLOSE_AFTER_DAYS
    return request_transition(
        service_request, "auto_close", actor=actor, message=f"No reply {days} days after resolution."
    )[0]


def requests_auto_close(*, limit: int = 500) -> int:
    """Close requests resolved and quiet for the configured days; safe to run on two workers at once."""
    cutoff = timezone.now() - timedelta(days=settings.PORTICO_AUTO_CLOSE_AFTER_DAYS)
    closed = 0
    while True:
        with transaction.atomic():
            batch = list(
                ServiceRequest.objects.filter(state=RequestState.RESOLVED, resolved_at__lte=cutoff)
                .order_by("resolved_at")
                .select_for_update(skip_locked=True)[:limit]
            )
            for service_request in batch:
                request_auto_close(service_request)
            closed += len(batch)
        if len(batch) < limit:
            return closed


@dataclass(frozen=True)
class TransitionSpec:
    """How a transition is offered to people: its label, what it asks for, and the service that runs it."""

    label: str
    service: Callable[..., ServiceRequest]
    reason_label: str = "Note (optional)"
    reason_required: bool = False
    fields: tuple[str, ...] = field(default_factory=tuple)
    style: str = "secondary"


TRANSITIONS: dict[str, TransitionSpec] = {
    "triage": TransitionSpec(
        "Triage",
        request_triage,
        "Reason (required if priority or type changes)",
        fields=("vendor", "priority", "request_type", "affects_production"),
        style="primary",
    ),
    "approve": TransitionSpec("Approve", request_approve, style="primary"),
    "deny": TransitionSpec("Deny", request_deny, "Why is it denied?", reason_required=True, style="danger"),
    "pick_up": TransitionSpec("Pick up", request_pick_up, style="primary"),
    "reassign": TransitionSpec("Reassign", request_reassign, fields=("vendor", "assignee")),
    "request_info": TransitionSpec("Ask for information", request_request_info, "Your question", reason_required=True),
    "provide_info": TransitionSpec(
        "Provide information", request_provide_info, "Your answer", reason_required=True, style="primary"
    ),
    "escalate": TransitionSpec(
        "Escalate",
        request_escalate,
        "What blocks the work?",
        reason_required=True,
        fields=("pause_reason",),
        style="danger",
    ),
    "unblock": TransitionSpec("Unblock", request_unblock, style="primary"),
    "resolve": TransitionSpec("Resolve", request_resolve, "Resolution note", reason_required=True, style="primary"),
    "confirm": TransitionSpec(
        "Confirm resolved", request_confirm, fields=("rating", "rating_comment"), style="primary"
    ),
    "reopen": TransitionSpec("Reopen", request_reopen, "What is still wrong?", reason_required=True),
    "reject": TransitionSpec("Reject", request_reject, "Why is it rejected?", reason_required=True, style="danger"),
    "cancel": TransitionSpec("Cancel request", request_cancel, style="danger"),
    "auto_close": TransitionSpec("Close automatically", request_auto_close),
}
