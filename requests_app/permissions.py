"""Who may run which workflow step: the one place role checks live."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model

from portal.auth_backends import SignedInUserExtra

from .choices import VendorRole

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from portal.models import User

    from .models import ServiceRequest

VIEW_ALL = "requests_app.view_all_requests"
TRIAGE = "requests_app.triage_request"
APPROVE = "requests_app.approve_request"
MODEL_BACKEND = "portal.auth_backends.PortalModelBackend"


def is_program_manager(user: User) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(TRIAGE))


def is_egov_devops(user: User) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(APPROVE))


def program_managers() -> QuerySet[User]:
    """Active users with the program manager's right (by group or directly; the superuser is not one)."""
    return _with_perm(TRIAGE)


def egov_devops_members() -> QuerySet[User]:
    """Active users with eGov DevOps' approving right."""
    return _with_perm(APPROVE)


def _with_perm(perm: str) -> QuerySet[User]:
    # The model backend answers who holds a permission; axes' backend (first in the list) only guards log-ins.
    return get_user_model().objects.with_perm(perm, include_superusers=False, backend=MODEL_BACKEND)


def is_staff_side(user: User) -> bool:
    """Program manager or eGov DevOps: sees everything and internal comments."""
    return bool(user and user.is_authenticated and user.has_perm(VIEW_ALL))


def is_vendor_member(service_request: ServiceRequest, user: User) -> bool:
    return bool(user.vendor_id and user.vendor_id == service_request.vendor_id)


def is_vendor_lead(service_request: ServiceRequest, user: User) -> bool:
    return is_vendor_member(service_request, user) and is_lead(user)


def team_ids(user: User) -> frozenset[int]:
    """The ids of `user`'s teams, read once per user object (as Django caches permissions in `_perm_cache`): a
    request page asked three times, one query each. The signed-in user is loaded afresh for every request."""
    cached = getattr(user, "_team_ids_cache", None)
    if cached is None:
        cached = frozenset(user.teams.values_list("pk", flat=True))
        user._team_ids_cache = cached  # type: ignore[attr-defined]
    return cached


def team_slugs(user: User) -> list[str]:
    """The slugs of `user`'s teams by team name, read once per user object (`/api/v1/me/` lists them)."""
    cached = getattr(user, "_team_slugs_cache", None)
    if cached is None:
        cached = list(user.teams.values_list("slug", flat=True))
        user._team_slugs_cache = cached  # type: ignore[attr-defined]
    return cached


def _prime(attribute: str, kind: type) -> Callable[[User, Any], None]:
    def prime(user: User, value: Any) -> None:
        setattr(user, attribute, kind(value))

    return prime


def _team_column(user_id: str, column: str) -> Any:
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models import OuterRef

    from .models import Team

    return ArraySubquery(Team.objects.filter(members=OuterRef(user_id)).values(column))  # by name, Team's order


# Read with the signed-in user (portal.auth_backends), so a request asks for neither on its own.
SIGNED_IN_USER_EXTRAS = (
    SignedInUserExtra("team_ids", lambda user_id: _team_column(user_id, "pk"), _prime("_team_ids_cache", frozenset)),
    SignedInUserExtra("team_slugs", lambda user_id: _team_column(user_id, "slug"), _prime("_team_slugs_cache", list)),
)


def is_requester_side(service_request: ServiceRequest, user: User) -> bool:
    """The person who filed it, or anyone in the team it was filed for."""
    if user.pk == service_request.requester_id:
        return True
    return service_request.team_id in team_ids(user)


def files_requests(user: User) -> bool:
    """Members of an implementation team file requests (in the browser, for their team); the program manager and
    eGov DevOps file on behalf of any team; vendor accounts never do."""
    if not (user and user.is_authenticated and not user.vendor_id):
        return False
    return is_staff_side(user) or bool(team_ids(user))


def sees_reports(user: User) -> bool:
    """Reports are for the program manager, eGov DevOps (every vendor) and vendor leads (their own vendor)."""
    return is_staff_side(user) or bool(user and user.is_authenticated and user.vendor_id and is_lead(user))


def sees_every_vendors_report(user: User) -> bool:
    """Staff choose any vendor's report; a vendor lead's is always their own vendor's."""
    return is_staff_side(user)


def is_lead(user: User) -> bool:
    return user.vendor_role == VendorRole.LEAD


def sees_internal_notes(service_request: ServiceRequest, user: User) -> bool:
    return is_staff_side(user) or is_vendor_member(service_request, user)


# Transition permission callables, in django-fsm's (instance, user) signature.
def can_triage(instance: ServiceRequest, user: User) -> bool:
    return is_program_manager(user)


def can_approve(instance: ServiceRequest, user: User) -> bool:
    return is_egov_devops(user)


def can_work(instance: ServiceRequest, user: User) -> bool:
    return is_vendor_member(instance, user)


def can_reassign(instance: ServiceRequest, user: User) -> bool:
    return is_program_manager(user) or is_vendor_lead(instance, user)


def can_escalate(instance: ServiceRequest, user: User) -> bool:
    return is_vendor_member(instance, user) or is_program_manager(user)


def can_unblock(instance: ServiceRequest, user: User) -> bool:
    return is_egov_devops(user) or is_program_manager(user)


def can_act_as_requester(instance: ServiceRequest, user: User) -> bool:
    return is_requester_side(instance, user)


def system_only(instance: ServiceRequest, user: User) -> bool:
    return False
