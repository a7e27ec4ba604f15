"""Who may open the management area: the program manager runs it; eGov DevOps sees it, and acts where it concerns
them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from requests_app import permissions as perms

if TYPE_CHECKING:
    from portal.models import User


def can_view_management(user: User) -> bool:
    return perms.is_program_manager(user) or perms.is_egov_devops(user)


def can_manage(user: User) -> bool:
    return perms.is_program_manager(user)
