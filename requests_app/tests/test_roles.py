"""The role groups: created with their permissions wherever one is missing, and read once when all are in place."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from requests_app.roles import EGOV_DEVOPS, GROUP_PERMISSIONS, PROGRAM_MANAGERS, ensure_role_groups

pytestmark = pytest.mark.django_db


def _held() -> dict[str, set[str]]:
    return {
        group.name: {permission.codename for permission in group.permissions.all()}
        for group in Group.objects.filter(name__in=GROUP_PERMISSIONS)
    }


def test_in_place_they_are_read_once_and_left_alone():
    ensure_role_groups()
    with CaptureQueriesContext(connection) as queries:
        ensure_role_groups()
    assert len(queries) == 1
    assert _held() == {name: set(codenames) for name, codenames in GROUP_PERMISSIONS.items()}


def test_a_missing_group_or_permission_is_put_back():
    ensure_role_groups()
    Group.objects.filter(name=EGOV_DEVOPS).delete()
    Group.objects.get(name=PROGRAM_MANAGERS).permissions.clear()
    ensure_role_groups()
    assert _held() == {name: set(codenames) for name, codenames in GROUP_PERMISSIONS.items()}
