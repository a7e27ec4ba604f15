"""The desk's writes: saved views, and bulk actions that run each row through the request services."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction

from portal.exceptions import Forbidden, PortalError, ValidationFailed
from requests_app import services as request_services
from requests_app.choices import Priority
from requests_app.models import ServiceRequest, Team, Vendor

from .models import ListName, SavedView, Sharing

if TYPE_CHECKING:
    from portal.models import User


# --- saved views -------------------------------------------------------------------------------------------
def _audience(owner: User, sharing: str, team: Team | None) -> dict[str, Any]:
    """The team or vendor a view is shared with, checked against the owner's own memberships."""
    if sharing == Sharing.TEAM:
        if team is None:
            teams = list(owner.teams.all()[:2])
            if len(teams) != 1:
                raise ValidationFailed("Choose the team to share with.", fields={"team": "Choose one of your teams."})
            team = teams[0]
        if not owner.teams.filter(pk=team.pk).exists():
            raise ValidationFailed("You can share only with a team you are in.", fields={"team": "Not your team."})
        return {"team": team, "vendor": None}
    if sharing == Sharing.VENDOR:
        if not owner.vendor_id:
            raise ValidationFailed(
                "Only a vendor's people can share with their vendor.", fields={"sharing": "No vendor."}
            )
        return {"team": None, "vendor_id": owner.vendor_id}
    if sharing != Sharing.PRIVATE:
        raise ValidationFailed("Unknown sharing.", fields={"sharing": "private, team or vendor."})
    return {"team": None, "vendor": None}


def _clear_default(owner: User, list_name: str, keep: int | None) -> None:
    defaults = SavedView.objects.filter(owner=owner, list_name=list_name, is_default=True)
    if keep is not None:
        defaults = defaults.exclude(pk=keep)
    defaults.update(is_default=False)


@transaction.atomic
def saved_view_create(
    *,
    owner: User,
    name: str,
    query: str,
    list_name: str = ListName.REQUESTS,
    sharing: str = Sharing.PRIVATE,
    team: Team | None = None,
    is_default: bool = False,
) -> SavedView:
    """Save the filters and sort `query` under `name`; as the default, it replaces the owner's previous one."""
    name = name.strip()
    if SavedView.objects.filter(owner=owner, list_name=list_name, name__iexact=name).exists():
        raise ValidationFailed(f"You already have a view called “{name}”.", fields={"name": "Choose another name."})
    view = SavedView(
        owner=owner,
        name=name,
        query=query,
        list_name=list_name,
        sharing=sharing,
        is_default=is_default,
        **_audience(owner, sharing, team),
    )
    view.full_clean(validate_constraints=False)
    if is_default:
        _clear_default(owner, list_name, keep=None)
    view.save()
    return view


def _own(view: SavedView, actor: User) -> None:
    if view.owner_id != actor.pk:
        raise Forbidden("Only the person who saved this view can change it.")


@transaction.atomic
def saved_view_update(view: SavedView, *, actor: User, **changes: Any) -> SavedView:
    """Rename, re-share, re-query or make default (owner only)."""
    _own(view, actor)
    if "name" in changes:
        name = changes["name"].strip()
        clash = SavedView.objects.filter(owner=actor, list_name=view.list_name, name__iexact=name).exclude(pk=view.pk)
        if clash.exists():
            raise ValidationFailed(f"You already have a view called “{name}”.", fields={"name": "Choose another name."})
        view.name = name
    if "query" in changes:
        view.query = changes["query"]
    if "sharing" in changes or "team" in changes:
        view.sharing = changes.get("sharing", view.sharing)
        for key, value in _audience(actor, view.sharing, changes.get("team", view.team)).items():
            setattr(view, key, value)
    if changes.get("is_default") is not None:
        view.is_default = bool(changes["is_default"])
        if view.is_default:
            _clear_default(actor, view.list_name, keep=view.pk)
    view.full_clean(validate_constraints=False)
    view.save()
    return view


def saved_view_delete(view: SavedView, *, actor: User) -> None:
    """Delete a view (owner only); people it was shared with lose it."""
    _own(view, actor)
    view.delete()


# --- bulk actions -----------------------------------------------------------------------------------------
BULK_ACTIONS: dict[str, str] = {
    "triage": "Triage",
    "assign": "Assign",
    "reassign": "Reassign",
    "cancel": "Cancel",
}
BULK_LIMIT = 100


@dataclass(frozen=True)
class BulkOutcome:
    """What happened to one row: done, or refused and why."""

    reference: str
    ok: bool
    message: str
    state: str | None = None


def bulk_arguments(action: str, params: dict[str, Any]) -> dict[str, Any]:
    """The service arguments for `action` from plain params (slugs, usernames); ValidationFailed if malformed."""
    if action not in BULK_ACTIONS:
        raise ValidationFailed(
            f"Unknown bulk action “{action}”.", fields={"action": f"One of: {', '.join(BULK_ACTIONS)}."}
        )
    arguments: dict[str, Any] = {"reason": str(params.get("reason") or "").strip()}
    vendor_slug = str(params.get("vendor") or "").strip()
    if vendor_slug:
        vendor = Vendor.objects.filter(slug=vendor_slug).first()
        if vendor is None:
            raise ValidationFailed(f"No vendor “{vendor_slug}”.", fields={"vendor": "Unknown vendor."})
        arguments["vendor"] = vendor
    username = str(params.get("assignee") or "").strip()
    if username:
        assignee = get_user_model().objects.filter(username=username, is_active=True).first()
        if assignee is None:
            raise ValidationFailed(f"No engineer “{username}”.", fields={"assignee": "Unknown user."})
        arguments["assignee"] = assignee
    priority = str(params.get("priority") or "").strip()
    if priority:
        if priority not in Priority.values:
            raise ValidationFailed(f"No priority “{priority}”.", fields={"priority": "P0 to P4."})
        arguments["priority"] = priority
    if action == "assign" and "assignee" not in arguments:
        raise ValidationFailed("Choose the engineer to assign.", fields={"assignee": "Required."})
    if action == "reassign" and "vendor" not in arguments and "assignee" not in arguments:
        raise ValidationFailed("Choose a vendor or an engineer.", fields={"vendor": "Required."})
    return arguments


def _runner(action: str, arguments: dict[str, Any]) -> Callable[[ServiceRequest, User], ServiceRequest]:
    def run(service_request: ServiceRequest, actor: User) -> ServiceRequest:
        if action == "triage":
            return request_services.request_triage(service_request, actor=actor, **arguments)
        if action == "cancel":
            return request_services.request_cancel(service_request, actor=actor, reason=arguments["reason"])
        if action == "assign":  # the same vendor, this engineer
            return request_services.request_reassign(
                service_request, actor=actor, reason=arguments["reason"], assignee=arguments["assignee"]
            )
        return request_services.request_reassign(service_request, actor=actor, **arguments)

    return run


def requests_bulk(*, actor: User, action: str, references: Sequence[str], params: dict[str, Any]) -> list[BulkOutcome]:
    """Run `action` on each request named, one by one through its service and permission check, each in its own
    transaction: one refusal never undoes another row. A request the actor cannot see is refused as not found,
    exactly as one that does not exist."""
    arguments = bulk_arguments(action, params)
    wanted = list(dict.fromkeys(reference.strip() for reference in references if reference.strip()))
    if not wanted:
        raise ValidationFailed("Select at least one request.", fields={"references": "Empty."})
    if len(wanted) > BULK_LIMIT:
        raise ValidationFailed(f"At most {BULK_LIMIT} requests at once.", fields={"references": "Too many."})
    found = {
        row.reference: row
        for row in ServiceRequest.objects.visible_to(actor).select_related("environment").filter(reference__in=wanted)
    }
    run = _runner(action, arguments)
    outcomes = []
    for reference in wanted:
        service_request = found.get(reference)
        if service_request is None:
            outcomes.append(BulkOutcome(reference, False, f"No request {reference} that you can see."))
            continue
        try:
            with transaction.atomic():
                changed = run(service_request, actor)
        except PortalError as exc:
            outcomes.append(BulkOutcome(reference, False, _why(exc), service_request.state))
        else:
            state = changed.get_state_display().lower()
            outcomes.append(BulkOutcome(reference, True, f"{BULK_ACTIONS[action]}: now {state}.", changed.state))
    return outcomes


def _why(exc: PortalError) -> str:
    details = "; ".join(message for messages in exc.fields.values() for message in messages if message != exc.message)
    return f"{exc.message} ({details})" if details else exc.message
