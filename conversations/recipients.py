"""Who hears a notice: the matrix's audiences made into people, then every rule that may silence one of them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import IntegerField, Q, Value

from portal.auth_backends import permissions_prefetch
from requests_app import permissions as perms
from requests_app.choices import VendorRole
from requests_app.models import RequestEvent

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
    permissions, then each one's `visible_to` check, joined by UNION ALL), where asking each was two. Not one
    EXISTS column per person: PostgreSQL planned that form several times slower than the checks one by one."""
    active = [user for user in users if user.is_active]
    if not active:
        return set()
    permissions_prefetch(active)
    checks = [
        RequestEvent.objects.visible_to(user)
        .filter(pk=event.pk)
        .order_by()
        .annotate(may_hear=Value(user.pk, output_field=IntegerField()))
        .values_list("may_hear", flat=True)
        for user in active
    ]
    return set(checks[0].union(*checks[1:], all=True))


def recipients_for(event: RequestEvent) -> dict[int, User]:
    """Everyone to tell about `event`, by user id; empty when nobody is told."""
    notice = notice_for(event)
    if notice is None:
        return {}
    service_request = event.service_request
    audiences = set(MATRIX[notice].audiences)
    if service_request.state in SILENT_STATES_FOR_VENDOR:
        audiences -= VENDOR_AUDIENCES  # no notice to the vendor before eGov DevOps approves the work
    named = Q()
    for condition in (_audience_condition(event, audience) for audience in audiences):
        if condition is not None:
            named |= condition
    if not named:
        return {}
    # Inactive people never pass `may_hear`, so every audience is read active only; muted ones are left out here.
    people = {
        user.pk: user
        for user in get_user_model()
        .objects.filter(pk__in=get_user_model().objects.filter(named).values("pk"), is_active=True)
        .exclude(pk__in=RequestMute.objects.filter(service_request_id=service_request.pk).values("user_id"))
        .order_by("pk")
    }
    people.pop(event.actor_id, None)  # type: ignore[arg-type]
    hearing = may_hear_all(event, people.values())
    return {pk: user for pk, user in people.items() if pk in hearing}


def is_watching(service_request_id: int, user: User) -> bool:
    return Watcher.objects.filter(service_request_id=service_request_id, user=user).exists()
