"""Single sign-on's mapping of the provider's groups to roles, teams and vendors, and its configuration checks.

The whole flow against a real provider is in tests/test_sso.py; these cover the rules without one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from portal.sso import SsoRefused
from requests_app.roles import EGOV_DEVOPS, PROGRAM_MANAGERS
from requests_app.sso import SsoGroupMap, check_sso_group_map, sso_user_apply
from requests_app.tests import factories as f

GROUP_MAP = SsoGroupMap.parse(
    {
        "portico-pm": "program_manager",
        "portico-egov": "egov_devops",
        "mgramseva-devs": "team:mgramseva",
        "optit-engineers": "vendor:optit:engineer",
        "optit-leads": "vendor:optit:lead",
        "gwl-engineers": "vendor:gwl:engineer",
    }
)


def test_the_group_map_reads_each_kind_of_target():
    grants = GROUP_MAP.grants(
        {"groups": ["portico-pm", "mgramseva-devs", "optit-engineers", "optit-leads", "x"]}, "groups"
    )

    assert grants.groups == {PROGRAM_MANAGERS}
    assert grants.teams == {"mgramseva"}
    assert grants.vendor == ("optit", "lead")  # named as both engineer and lead: the lead's role wins


def test_a_single_string_claim_counts_as_one_value_and_a_missing_claim_as_none():
    assert GROUP_MAP.grants({"groups": "portico-egov"}, "groups").groups == {EGOV_DEVOPS}
    assert GROUP_MAP.grants({}, "groups") == GROUP_MAP.grants({"groups": []}, "groups")
    assert GROUP_MAP.grants({}, "groups").vendor is None


def test_claims_naming_two_vendors_are_refused():
    with pytest.raises(SsoRefused, match="several vendors"):
        GROUP_MAP.grants({"groups": ["optit-engineers", "gwl-engineers"]}, "groups")


@pytest.mark.parametrize("target", ["admin", "team:", "vendor:optit", "vendor:optit:boss", "team:a b"])
def test_a_group_map_entry_portico_cannot_read_fails_the_system_check(settings, target):
    settings.PORTICO_SSO_GROUP_MAP = {"some-group": target}

    errors = check_sso_group_map()

    assert [error.id for error in errors] == ["portico.E101"]
    assert "some-group" in errors[0].msg


def test_the_shipped_empty_group_map_passes_the_system_check(settings):
    settings.PORTICO_SSO_GROUP_MAP = {}

    assert check_sso_group_map() == []


@pytest.mark.django_db
def test_applying_grants_sets_managed_roles_teams_and_vendor_and_leaves_the_rest(world):
    user = f.UserFactory(username="sso-person")
    unmanaged_team = f.TeamFactory(slug="elsewhere", name="Elsewhere", members=[user])
    user.groups.add(*world.pm.groups.all())  # the PM's group, which the provider no longer gives

    sso_user_apply(
        user=user,
        grants=GROUP_MAP.grants({"groups": ["portico-egov", "mgramseva-devs", "optit-leads"]}, "groups"),
        group_map=GROUP_MAP,
    )

    user.refresh_from_db()
    assert set(user.groups.values_list("name", flat=True)) == {EGOV_DEVOPS}
    assert set(user.teams.all()) == {world.team_a, unmanaged_team}
    assert (user.vendor, user.vendor_role) == (world.vendor_a, "lead")

    sso_user_apply(user=user, grants=GROUP_MAP.grants({"groups": []}, "groups"), group_map=GROUP_MAP)

    user.refresh_from_db()
    assert not user.groups.exists()
    assert list(user.teams.all()) == [unmanaged_team]
    assert (user.vendor, user.vendor_role) == (None, "")


@pytest.mark.django_db
def test_a_vendor_the_map_does_not_name_is_left_alone(world):
    user = f.VendorEngineerFactory(username="manual-vendor", vendor=f.VendorFactory(slug="manual", name="Manual"))

    sso_user_apply(user=user, grants=GROUP_MAP.grants({"groups": []}, "groups"), group_map=GROUP_MAP)

    user.refresh_from_db()
    assert user.vendor.slug == "manual"


def test_sso_settings_fail_fast_without_the_providers_endpoints():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test", "OIDC_RP_CLIENT_ID": "portico"}

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "needs OIDC_RP_CLIENT_SECRET, OIDC_OP_ISSUER, OIDC_OP_AUTHORIZATION_ENDPOINT" in result.stderr
