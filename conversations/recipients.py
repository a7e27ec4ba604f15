"""Who hears a notice: the matrix's audiences made into people, then every rule that may silence one of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model

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


def may_hear(event: RequestEvent, user: User) -> bool:
    """The gate every notice passes: `user` can see this event (the request, and an internal note) right now."""
    return user.is_active and RequestEvent.objects.visible_to(user).filter(pk=event.pk).exists()


def recipients_for(event: RequestEvent) -> dict[int, User]:
    """Everyone to tell about `event`, by user id; empty when nobody is told."""
    notice = notice_for(event)
    if notice is None:
        return {}
    service_request = event.service_request
    audiences = set(MATRIX[notice].audiences)
    if service_request.state in SILENT_STATES_FOR_VENDOR:
        audiences -= VENDOR_AUDIENCES  # no notice to the vendor before eGov DevOps approves the work
    people: dict[int, User] = {}
    for audience in sorted(audiences):
        for user in audience_members(event, audience):
            people.setdefault(user.pk, user)
    people.pop(event.actor_id, None)  # type: ignore[arg-type]
    muted = set(RequestMute.objects.filter(service_request=service_request).values_list("user_id", flat=True))
    return {pk: user for pk, user in people.items() if pk not in muted and may_hear(event, user)}


def is_watching(service_request_id: int, user: User) -> bool:
    return Watcher.objects.filter(service_request_id=service_request_id, user=user).exists()
