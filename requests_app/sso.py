"""Single sign-on: what the provider's groups mean in Portico — the program manager's and eGov DevOps' groups,
team memberships, and a vendor with a vendor role. Given again on every log-in, so the provider stays the source.

PORTICO_SSO_GROUP_MAP (JSON) maps a value of the PORTICO_SSO_GROUPS_CLAIM claim to one target:
    "program_manager" | "egov_devops" | "team:<team slug>" | "vendor:<vendor slug>:<engineer|lead>"
Values the map does not name are ignored. Roles, teams and vendors that the map names are managed: a user who
lost the group at the provider loses them here at the next log-in. Nothing else about the user is touched (never
is_staff or is_superuser).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core import checks
from django.db import transaction

from portal.models import User
from portal.sso import PortalOidcBackend, SsoRefused

from .choices import VendorRole
from .models import Team, Vendor
from .roles import EGOV_DEVOPS, PROGRAM_MANAGERS, ensure_role_groups

logger = logging.getLogger(__name__)

ROLE_GROUPS = {"program_manager": PROGRAM_MANAGERS, "egov_devops": EGOV_DEVOPS}
_TEAM = re.compile(r"^team:(?P<slug>[-\w]+)$")
_VENDOR = re.compile(rf"^vendor:(?P<slug>[-\w]+):(?P<role>{'|'.join(VendorRole.values)})$")


@dataclass(frozen=True)
class SsoGrants:
    """What one person's claims give them in Portico."""

    groups: frozenset[str]
    teams: frozenset[str]
    vendor: tuple[str, str] | None  # (vendor slug, vendor role)


@dataclass(frozen=True)
class SsoGroupMap:
    """PORTICO_SSO_GROUP_MAP, parsed."""

    roles: dict[str, str]  # claim value -> Django group name
    teams: dict[str, str]  # claim value -> team slug
    vendors: dict[str, tuple[str, str]]  # claim value -> (vendor slug, vendor role)

    @classmethod
    def parse(cls, raw: Any) -> SsoGroupMap:
        """Read the setting; ValueError names the first entry that is not one of the four forms."""
        if not isinstance(raw, dict):
            raise ValueError("PORTICO_SSO_GROUP_MAP must be a JSON object of claim value to target")
        roles, teams, vendors = {}, {}, {}
        for value, target in raw.items():
            target = str(target)
            if target in ROLE_GROUPS:
                roles[str(value)] = ROLE_GROUPS[target]
            elif match := _TEAM.match(target):
                teams[str(value)] = match["slug"]
            elif match := _VENDOR.match(target):
                vendors[str(value)] = (match["slug"], match["role"])
            else:
                raise ValueError(
                    f"PORTICO_SSO_GROUP_MAP[{value!r}] = {target!r}: expected program_manager, egov_devops, "
                    "team:<slug> or vendor:<slug>:<engineer|lead>"
                )
        return cls(roles=roles, teams=teams, vendors=vendors)

    def grants(self, claims: dict[str, Any], claim: str) -> SsoGrants:
        """What `claims[claim]` (a list of values, or one) grants; two different vendors is a refusal."""
        values = claims.get(claim) or []
        values = {str(values)} if isinstance(values, str | int) else {str(value) for value in values}
        vendors = {self.vendors[value] for value in values if value in self.vendors}
        if len({slug for slug, _ in vendors}) > 1:
            raise SsoRefused(f"the {claim!r} claim names several vendors: {sorted(vendors)}")
        # One vendor named as both engineer and lead: the lead's role wins.
        vendor = max(vendors, key=lambda pair: pair[1] == VendorRole.LEAD) if vendors else None
        return SsoGrants(
            groups=frozenset(self.roles[value] for value in values if value in self.roles),
            teams=frozenset(self.teams[value] for value in values if value in self.teams),
            vendor=vendor,
        )


def sso_group_map() -> SsoGroupMap:
    return SsoGroupMap.parse(settings.PORTICO_SSO_GROUP_MAP)


@transaction.atomic
def sso_user_apply(*, user: User, grants: SsoGrants, group_map: SsoGroupMap) -> User:
    """Set `user`'s role groups, managed teams and vendor to `grants` (managed: those the map names)."""
    managed_groups = set(ROLE_GROUPS.values())
    groups = {group.name: group for group in Group.objects.filter(name__in=managed_groups)}
    if len(groups) < len(managed_groups):  # e.g. after a flush: the groups carry the permissions, make them
        ensure_role_groups()
        groups = {group.name: group for group in Group.objects.filter(name__in=managed_groups)}
    user.groups.remove(*(groups[name] for name in managed_groups - grants.groups))
    user.groups.add(*(groups[name] for name in grants.groups))

    managed_teams = Team.objects.filter(slug__in=set(group_map.teams.values()))
    found = {team.slug: team for team in managed_teams}
    for slug in grants.teams - set(found):
        logger.warning("PORTICO_SSO_GROUP_MAP names team %r, which does not exist", slug)
    user.teams.remove(*(team for slug, team in found.items() if slug not in grants.teams))
    user.teams.add(*(team for slug, team in found.items() if slug in grants.teams))

    vendor, vendor_role = None, ""
    if grants.vendor is not None:
        vendor = Vendor.objects.filter(slug=grants.vendor[0]).first()
        if vendor is None:
            logger.warning("PORTICO_SSO_GROUP_MAP names vendor %r, which does not exist", grants.vendor[0])
        else:
            vendor_role = grants.vendor[1]
    managed_vendors = {slug for slug, _ in group_map.vendors.values()}
    current = user.vendor
    keeps_own = vendor is None and not (current is not None and current.slug in managed_vendors)
    if not keeps_own and (user.vendor_id, user.vendor_role) != (getattr(vendor, "pk", None), vendor_role):
        user.vendor, user.vendor_role = vendor, vendor_role
        user.full_clean()
        user.save(update_fields=["vendor", "vendor_role"])
    return user


class SsoBackend(PortalOidcBackend):
    """The OpenID Connect backend (AUTHENTICATION_BACKENDS, when OIDC_RP_CLIENT_ID is set) with Portico's roles."""

    def apply_claims(self, user: User, claims: dict[str, Any]) -> None:
        group_map = sso_group_map()
        grants = group_map.grants(claims, settings.PORTICO_SSO_GROUPS_CLAIM)
        sso_user_apply(user=user, grants=grants, group_map=group_map)


@checks.register(checks.Tags.security)
def check_sso_group_map(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`manage.py check` (and every start) names a PORTICO_SSO_GROUP_MAP entry Portico cannot read."""
    try:
        sso_group_map()
    except ValueError as exc:
        return [checks.Error(str(exc), id="portico.E101")]
    return []
