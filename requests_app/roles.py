"""The five roles of the portal and the groups that carry the program manager's and eGov DevOps' rights."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from .choices import VendorRole
from .permissions import is_egov_devops, is_program_manager

if TYPE_CHECKING:
    from portal.models import User

PROGRAM_MANAGERS = "Program managers"
EGOV_DEVOPS = "eGov DevOps"

GROUP_PERMISSIONS = {
    PROGRAM_MANAGERS: ["view_all_requests", "triage_request"],
    EGOV_DEVOPS: ["view_all_requests", "approve_request"],
}


class Role(models.TextChoices):
    REQUESTER = "requester", "Requester"
    VENDOR_ENGINEER = "vendor_engineer", "Vendor engineer"
    VENDOR_LEAD = "vendor_lead", "Vendor lead"
    PROGRAM_MANAGER = "program_manager", "Program manager"
    EGOV_DEVOPS = "egov_devops", "eGov DevOps"


def role_of(user: User) -> Role:
    """The user's main role, for navigation and labels (rights come from permissions, not this)."""
    if is_program_manager(user):
        return Role.PROGRAM_MANAGER
    if is_egov_devops(user):
        return Role.EGOV_DEVOPS
    if user.vendor_id:
        return Role.VENDOR_LEAD if user.vendor_role == VendorRole.LEAD else Role.VENDOR_ENGINEER
    return Role.REQUESTER


def ensure_role_groups() -> None:
    """Create the PM and eGov DevOps groups with their permissions (idempotent). Where they are all in place, as
    after every migration, it is one read: SSO sign-ins and most tests' world call it."""
    from django.contrib.auth.models import Group, Permission

    wanted = {(name, codename) for name, codenames in GROUP_PERMISSIONS.items() for codename in codenames}
    held = Group.permissions.through.objects.filter(
        group__name__in=GROUP_PERMISSIONS, permission__content_type__app_label="requests_app"
    ).values_list("group__name", "permission__codename")
    if wanted <= set(held):
        return
    for group_name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="requests_app", codename__in=codenames)
        )


# The roles for whom PORTICO_REQUIRE_OTP_FOR_STAFF makes two-factor mandatory: they see and steer every request.
STAFF_ROLES = frozenset({Role.PROGRAM_MANAGER, Role.EGOV_DEVOPS})


def is_otp_staff(user: User) -> bool:
    """True for the roles the kernel's two-factor staff rule covers (registered in `RequestsAppConfig.ready()`)."""
    return role_of(user) in STAFF_ROLES
