"""Who may open the management area: the program manager runs it; eGov DevOps sees it, and acts where it concerns
them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from requests_app import permissions as perms
from requests_app.choices import OnboardingStatus

if TYPE_CHECKING:
    from portal.models import User


def can_view_management(user: User) -> bool:
    return perms.is_program_manager(user) or perms.is_egov_devops(user)


def can_manage(user: User) -> bool:
    return perms.is_program_manager(user)


def can_act_on_onboarding(user: User, stage: str) -> bool:
    """The program manager moves and ticks every stage; eGov DevOps grants the access, so the access-granted stage
    (the move into it and its checklist) is theirs too."""
    return can_manage(user) or (perms.is_egov_devops(user) and stage == OnboardingStatus.ACCESS_GRANTED)


def can_revoke_vendor_access(user: User) -> bool:
    """Retrying the revocation of an offboarded vendor's access: access is eGov DevOps' concern as much as the PM's."""
    return can_view_management(user)
