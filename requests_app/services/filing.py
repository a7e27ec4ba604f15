"""Filing, editing and commenting on a request: every write that is not a workflow step, audited on the timeline."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from portal.timefmt import format_time
from sla import services as sla
from sla.selectors import sla_due_times

from .. import permissions as perms
from ..catalogue import parameters_validate
from ..choices import EventKind, Priority
from ..models import Environment, RequestEvent, ServiceRequest, Stack, Team
from ..routing import routing_decide
from ..timeline import model_full_clean, timeline_append

if TYPE_CHECKING:
    from portal.models import User


def _environment_today(environment: Environment) -> date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(environment.timezone)).date()


def request_p4_dated_check(*, priority: str, needed_by: date | None) -> None:
    """Raise ValidationFailed for a P4 without a needed-by date: its resolution is due at that date, so without one
    nothing would ever fall due."""
    if priority == Priority.P4 and needed_by is None:
        raise ValidationFailed(
            "P4 requests need a needed-by date.",
            fields={
                "needed_by": "Required for P4: the date this is needed by.",
                "priority": "A P4 needs a needed-by date: edit the request to add one, or choose another priority.",
            },
        )


def request_needed_by_check(*, priority: str, needed_by: date | None, environment: Environment) -> None:
    """Raise ValidationFailed when `needed_by` breaks the notice rules: P4 work must be announced
    PORTICO_P4_MIN_NOTICE_DAYS ahead; nobody may ask for a date in the past (the form's inline check uses it too)."""
    today = _environment_today(environment)
    min_notice = settings.PORTICO_P4_MIN_NOTICE_DAYS
    if priority == Priority.P4:
        if needed_by is None:
            raise ValidationFailed(
                "P4 requests need a needed-by date.",
                fields={"needed_by": f"Required for P4: the date you need this by, at least {min_notice} days ahead."},
            )
        earliest = today + timedelta(days=min_notice)
        if needed_by < earliest:
            raise ValidationFailed(
                f"P4 requests must be announced at least {min_notice} days ahead.",
                fields={
                    "needed_by": f"Must be on or after {earliest:%d %b %Y} ({min_notice} days' notice); "
                    "for sooner work choose P3 or higher."
                },
            )
    elif needed_by is not None and needed_by < today:
        raise ValidationFailed("The needed-by date is in the past.", fields={"needed_by": "Cannot be in the past."})


def _visible_or_404(service_request: ServiceRequest, actor: User) -> None:
    if not ServiceRequest.objects.visible_to(actor).filter(pk=service_request.pk).exists():
        raise NotFound(f"No request {service_request.reference}.")


# --- filing and editing ---------------------------------------------------------------------------------
def _team_for(actor: User, team: Team | None) -> Team:
    if team is not None:
        if perms.is_staff_side(actor) or actor.teams.filter(pk=team.pk).exists():
            return team
        raise ValidationFailed("You are not a member of that team.", fields={"team": "Choose one of your teams."})
    teams = list(actor.teams.all()[:2])
    if len(teams) == 1:
        return teams[0]
    if not teams:
        raise Forbidden("Only members of an implementation team can file requests; ask the program manager to add you.")
    raise ValidationFailed("You belong to several teams.", fields={"team": "Choose the team this request is for."})


@transaction.atomic
def request_file(
    *,
    actor: User,
    title: str,
    description: str,
    request_type: str,
    priority: str,
    environment: Environment,
    stack: Stack | None = None,
    team: Team | None = None,
    needed_by: date | None = None,
    affects_production: bool = False,
    origin: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
    detected_at: datetime | None = None,
) -> ServiceRequest:
    """File a new request for one of the actor's teams; it waits in the program manager's triage inbox.

    `parameters` feed the type's automation (the catalogue): empty means the work is done by hand.
    `detected_at` is when monitoring first saw the problem; never later than the filing itself.
    """
    if actor.vendor_id and not perms.is_staff_side(actor):
        raise Forbidden("Vendor accounts work requests; they cannot file them.")
    service_request = ServiceRequest(
        title=(title or "").strip(),
        description=(description or "").strip(),
        request_type=request_type,
        priority=priority,
        environment=environment,
        stack=stack,
        requester=actor,
        team=_team_for(actor, team),
        needed_by=needed_by,
        affects_production=affects_production,
        created_at=timezone.now(),
    )
    if detected_at is not None:
        service_request.detected_at = min(detected_at, service_request.created_at)
    # The rating is left out: filing never sets it, and checking its constraint was a savepoint and a query.
    model_full_clean(service_request, exclude=["reference", "requester", "team", "environment", "stack", "rating"])
    request_needed_by_check(priority=priority, needed_by=needed_by, environment=environment)
    service_request.parameters = parameters_validate(request_type, parameters)
    service_request.save()
    # The primary key comes from a sequence that never hands out a number twice, so neither does this.
    service_request.reference = f"REQ-{service_request.pk:06d}"
    ServiceRequest.objects.filter(pk=service_request.pk).update(reference=service_request.reference)
    sla.sla_clock_start(service_request, at=service_request.created_at)
    routing = routing_decide(request_type=request_type, environment=environment, stack=stack)
    timeline_append(
        service_request,
        actor=actor,
        kind=EventKind.FILED,
        to_state=service_request.state,
        payload={
            "suggested_vendor": routing.vendor.slug if routing.vendor else None,
            "routing_rule": routing.rule.pk if routing.rule else None,
            "routing_reason": routing.explanation,
            **(origin or {}),
        },
    )
    return service_request


EDITABLE_BY_REQUESTER = ("title", "description", "stack", "needed_by", "affects_production", "parameters")
EDITABLE_BY_PM = (*EDITABLE_BY_REQUESTER, "priority", "request_type")


def request_editable_fields(service_request: ServiceRequest, user: User) -> tuple[str, ...]:
    """The fields `user` may change on `service_request` now (the browser offers exactly these): the requester's
    team its details, the program manager also priority and type; nobody once it is closed."""
    if not service_request.is_open:
        return ()
    if perms.is_program_manager(user):
        return EDITABLE_BY_PM
    if perms.is_requester_side(service_request, user):
        return EDITABLE_BY_REQUESTER
    return ()


@transaction.atomic
def request_update(
    service_request: ServiceRequest, *, actor: User | None, changes: dict[str, Any], reason: str = ""
) -> ServiceRequest:
    """Edit an open request's details (never its state); priority and type changes need the PM and a reason.

    `actor` None is Portico itself acting on a rule (hypercare raising a priority): it may change what the PM may."""
    if actor is not None:
        _visible_or_404(service_request, actor)
    # Lock only the request row: PostgreSQL cannot lock the nullable side of with_related()'s outer joins.
    service_request = ServiceRequest.objects.select_for_update(of=("self",)).with_related().get(pk=service_request.pk)
    if not service_request.is_open:
        raise Conflict(
            f"{service_request.reference} is {service_request.get_state_display().lower()}; it can no longer be edited."
        )
    allowed = request_editable_fields(service_request, actor) if actor is not None else EDITABLE_BY_PM
    if not allowed:
        raise Forbidden("Only the requester's team or the program manager can edit a request.")
    refused = sorted(set(changes) - set(allowed))
    if refused:
        raise ValidationFailed(
            "Some fields cannot be changed by you.", fields={name: "You cannot change this field." for name in refused}
        )
    if "parameters" in changes or ("request_type" in changes and service_request.parameters):
        # Checked against the type the request will have; a type change drops parameters that no longer fit.
        new_type = changes.get("request_type", service_request.request_type)
        changes["parameters"] = parameters_validate(new_type, changes.get("parameters", service_request.parameters))
    before = {name: _plain(getattr(service_request, name)) for name in changes}
    for name, value in changes.items():
        setattr(service_request, name, value.strip() if isinstance(value, str) else value)
    after = {name: _plain(getattr(service_request, name)) for name in changes}
    changed = {name: {"from": before[name], "to": after[name]} for name in changes if before[name] != after[name]}
    if not changed:
        return service_request
    sla_changed = {"priority", "request_type"} & set(changed)
    if sla_changed and not reason.strip():
        raise ValidationFailed("Say why the priority or type changes.", fields={"reason": "A reason is required."})
    model_full_clean(
        service_request, exclude=["reference", "requester", "team", "environment", "stack", "vendor", "assignee"]
    )
    if "priority" in changed or "needed_by" in changed:
        request_needed_by_check(
            priority=service_request.priority,
            needed_by=service_request.needed_by,
            environment=service_request.environment,
        )
    retargets = "priority" in changed or "needed_by" in changed
    due_before = sla_due_times(service_request) if retargets else {}
    service_request.save()
    at = timezone.now()
    if retargets:
        # Retargeted before the event is written, so the timeline can say where the due times moved.
        sla.sla_retarget(service_request, at=at, reason=reason.strip() or "needed-by date changed")
    moves = _due_moves(due_before, sla_due_times(service_request)) if retargets else []
    kind = EventKind.PRIORITY_CHANGED if "priority" in changed else EventKind.UPDATED
    payload: dict[str, Any] = {"changes": changed}
    if moves:
        payload["due_moves"] = [{"measure": measure, "from": _iso(old), "to": _iso(new)} for measure, old, new in moves]
    message = update_summary(
        changed,
        reason=reason,
        moves=moves,
        environment=service_request.environment,
        actor_name=(actor.get_full_name() or actor.username) if actor is not None else "Portico",
    )
    timeline_append(service_request, actor=actor, kind=kind, message=message, payload=payload)
    return service_request


FIELD_LABELS = {
    "title": "Title",
    "description": "Description",
    "stack": "Stack",
    "needed_by": "Needed-by date",
    "affects_production": "Affects production",
    "parameters": "Automation parameters",
}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _due_moves(
    before: dict[str, datetime | None], after: dict[str, datetime | None]
) -> list[tuple[str, datetime | None, datetime | None]]:
    return [(measure, before.get(measure), new) for measure, new in after.items() if before.get(measure) != new]


def _when(value: datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    if value is None:
        return "none"
    return format_time(value, "short", tz=zone)


def update_summary(
    changed: dict[str, dict[str, Any]],
    *,
    reason: str,
    moves: list[tuple[str, datetime | None, datetime | None]],
    environment: Environment,
    actor_name: str,
) -> str:
    """The timeline's words for an edit: what changed (priority and type from → to), why, and how the due times
    moved, in the environment's own time zone."""
    parts = []
    if "priority" in changed:
        parts.append(f"Priority {changed['priority']['from']} → {changed['priority']['to']}")
    if "request_type" in changed:
        parts.append(f"Type {changed['request_type']['from']} → {changed['request_type']['to']}")
    others = [FIELD_LABELS.get(name, name).lower() for name in changed if name not in ("priority", "request_type")]
    if others:
        parts.append(f"{'edited' if parts else 'Edited'} {', '.join(others)}")
    text = "; ".join(parts) + f" by {actor_name}"
    if reason.strip():
        text += f": {reason.strip().rstrip('.')}"
    zone = zoneinfo.ZoneInfo(environment.timezone)
    if moves:
        moved = [f"{measure} due moved from {_when(old, zone)} to {_when(new, zone)}" for measure, old, new in moves]
        text += "; " + "; ".join(moved)
    return text + "."


def _plain(value: Any) -> Any:
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, date):
        return value.isoformat()
    return value


@transaction.atomic
def request_comment(service_request: ServiceRequest, *, actor: User, body: str, internal: bool = False) -> RequestEvent:
    """Add a comment to the timeline; internal notes are for eGov DevOps, the PM and the vendor only."""
    _visible_or_404(service_request, actor)
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("A comment cannot be empty.", fields={"body": "Write something."})
    if internal and not perms.sees_internal_notes(service_request, actor):
        raise ValidationFailed(
            "Only staff and the vendor can write internal notes.", fields={"internal": "Not allowed."}
        )
    return timeline_append(service_request, actor=actor, kind=EventKind.COMMENT, message=body, internal=internal)
