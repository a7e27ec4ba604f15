"""Who hears a notice: the matrix's audiences made into people, then every rule that may silence one of them."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from portal.auth_backends import permissions_prefetch
from portal.compiled import CompiledObjects
from requests_app import permissions as perms
from requests_app.choices import VendorRole
from requests_app.compiled import event_visible_to_each
from requests_app.models import RequestEvent, ServiceRequest

from .matrix import MATRIX, SILENT_STATES_FOR_VENDOR, VENDOR_AUDIENCES, Audience, notice_for
from .models import RequestMute, Watcher

if TYPE_CHECKING:
    from portal.models import User


def audience_members(event: RequestEvent, audience: Audience) -> list[User]:
    """The people one audience names for `event`'s request (before any filtering)."""
    service_request = event.service_request
    active = get_user_model().objects.filter(is_active=True)
    match audience:
        case Audience.REQUESTER:
            return [service_request.requester] if service_request.requester else []
        case Audience.TEAM:
            return list(active.filter(teams=service_request.team_id)) if service_request.team_id else []
        case Audience.WATCHERS:
            return list(active.filter(watching__service_request=service_request))
        case Audience.ASSIGNEE:
            if service_request.assignee is not None:
                return [service_request.assignee]
            return audience_members(event, Audience.VENDOR_LEADS)
        case Audience.VENDOR:
            return list(active.filter(vendor_id=service_request.vendor_id)) if service_request.vendor_id else []
        case Audience.VENDOR_LEADS:
            if not service_request.vendor_id:
                return []
            return list(active.filter(vendor_id=service_request.vendor_id, vendor_role=VendorRole.LEAD))
        case Audience.PROGRAM_MANAGER:
            return list(perms.program_managers())
        case Audience.EGOV_DEVOPS:
            return list(perms.egov_devops_members())
    return []


def _audience_condition(event: RequestEvent, audience: Audience) -> Q | None:
    """`audience_members` as a condition on users, so every audience of a notice is read in one query. Keep the
    two in step (a test compares them); None when the audience names nobody for this request."""
    service_request = event.service_request
    match audience:
        case Audience.REQUESTER:
            return Q(pk=service_request.requester_id) if service_request.requester_id else None
        case Audience.TEAM:
            return Q(teams=service_request.team_id) if service_request.team_id else None
        case Audience.WATCHERS:
            return Q(pk__in=Watcher.objects.filter(service_request_id=service_request.pk).values("user_id"))
        case Audience.ASSIGNEE:
            if service_request.assignee_id is not None:
                return Q(pk=service_request.assignee_id)
            return _audience_condition(event, Audience.VENDOR_LEADS)
        case Audience.VENDOR:
            return Q(vendor_id=service_request.vendor_id) if service_request.vendor_id else None
        case Audience.VENDOR_LEADS:
            if not service_request.vendor_id:
                return None
            return Q(vendor_id=service_request.vendor_id, vendor_role=VendorRole.LEAD)
        case Audience.PROGRAM_MANAGER:
            return Q(pk__in=perms.program_managers().values("pk"))
        case Audience.EGOV_DEVOPS:
            return Q(pk__in=perms.egov_devops_members().values("pk"))
    return None


def may_hear(event: RequestEvent, user: User) -> bool:
    """The gate every notice passes: `user` can see this event (the request, and an internal note) right now."""
    return user.is_active and RequestEvent.objects.visible_to(user).filter(pk=event.pk).exists()


def may_hear_all(event: RequestEvent, users: Iterable[User]) -> set[int]:
    """`may_hear` for many people at once: the ids of those who may. Two queries whatever their number (their
    permissions, then each one's `visible_to` check, joined by UNION ALL), where asking each was two. Each check is
    compiled once per process and viewer shape (`requests_app.compiled`): building a queryset per person was most
    of a notice's CPU. Not one EXISTS column per person: PostgreSQL planned that form several times slower than the
    checks one by one."""
    active = [user for user in users if user.is_active]
    if not active:
        return set()
    permissions_prefetch(active)
    return event_visible_to_each(event.pk, active)


# Values no row holds, standing in for the request's people while its recipients' query is compiled.
_REQUEST, _REQUESTER, _TEAM, _ASSIGNEE, _VENDOR = (-(2**62) + n for n in (301, 303, 307, 311, 313))


def _people_named(event: RequestEvent, audiences: Iterable[Audience]) -> QuerySet[User] | None:
    """The active people `audiences` name for `event`, muted ones left out, by id; None when they name nobody.
    Inactive people never pass `may_hear`, so every audience is read active only."""
    named = Q()
    for condition in (_audience_condition(event, audience) for audience in audiences):
        if condition is not None:
            named |= condition
    if not named:
        return None
    service_request = event.service_request
    return (
        get_user_model()
        .objects.filter(pk__in=get_user_model().objects.filter(named).values("pk"), is_active=True)
        .exclude(pk__in=RequestMute.objects.filter(service_request_id=service_request.pk).values("user_id"))
        .order_by("pk")
    )


# A notice's audiences and which of the request's people exist: the form `_people_named`'s query takes.
_Shape = tuple[frozenset[Audience], bool, bool, bool, bool]


def _stand_in_event(shape: _Shape) -> RequestEvent:
    _audiences, requester, team, assignee, vendor = shape
    service_request = ServiceRequest(
        pk=_REQUEST,
        requester_id=_REQUESTER if requester else None,
        team_id=_TEAM if team else None,
        assignee_id=_ASSIGNEE if assignee else None,
        vendor_id=_VENDOR if vendor else None,
    )
    return RequestEvent(service_request=service_request)


@functools.cache
def _names_nobody(shape: _Shape) -> bool:
    return _people_named(_stand_in_event(shape), shape[0]) is None


@functools.cache
def _people_query() -> CompiledObjects:
    """`_people_named` compiled once per process and shape (building it per notice was a share of every write's
    CPU), then run with the request's ids."""

    def build(shape: _Shape, **markers: Any) -> QuerySet[User]:
        people = _people_named(_stand_in_event(shape), shape[0])
        if people is None:  # recipients_for asks _names_nobody first
            raise ValueError(f"the audiences of {shape} name nobody")
        return people

    markers = {"request": _REQUEST, "requester": _REQUESTER, "team": _TEAM, "assignee": _ASSIGNEE, "vendor": _VENDOR}
    return CompiledObjects(build, markers)


def _people_compiled(event: RequestEvent, audiences: Iterable[Audience]) -> list[User] | None:
    """`_people_named(event, audiences)`'s people, from its query compiled for the shape of `event`'s request."""
    service_request = event.service_request
    shape: _Shape = (
        frozenset(audiences),
        service_request.requester_id is not None,
        service_request.team_id is not None,
        service_request.assignee_id is not None,
        service_request.vendor_id is not None,
    )
    if _names_nobody(shape):
        return None
    return _people_query().objects(
        shape,
        request=service_request.pk,
        requester=service_request.requester_id,
        team=service_request.team_id,
        assignee=service_request.assignee_id,
        vendor=service_request.vendor_id,
    )


def recipients_for(event: RequestEvent) -> dict[int, User]:
    """Everyone to tell about `event`, by user id; empty when nobody is told."""
    notice = notice_for(event)
    if notice is None:
        return {}
    service_request = event.service_request
    audiences = set(MATRIX[notice].audiences)
    if service_request.state in SILENT_STATES_FOR_VENDOR:
        audiences -= VENDOR_AUDIENCES  # no notice to the vendor before eGov DevOps approves the work
    found = _people_compiled(event, audiences)
    if found is None:
        return {}
    people = {user.pk: user for user in found}
    people.pop(event.actor_id, None)  # type: ignore[arg-type]
    hearing = may_hear_all(event, people.values())
    return {pk: user for pk, user in people.items() if pk in hearing}


def is_watching(service_request_id: int, user: User) -> bool:
    return Watcher.objects.filter(service_request_id=service_request_id, user=user).exists()
