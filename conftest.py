"""Shared fixtures: one small world with two teams, two vendors and every role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group

from portal.models import User
from requests_app.models import Environment, Stack, Team, Vendor, VendorOnboarding
from requests_app.roles import EGOV_DEVOPS, PROGRAM_MANAGERS, ensure_role_groups
from requests_app.tests import factories as f

# A real Celery worker (`start_worker`) on Redis or RabbitMQ (`celery_broker`, a redis-server per pytest-xdist
# worker), and the stub servers (`k8s_stub`, `gitlab_stub`, `jenkins_stub`).
pytest_plugins = ["tests.support.brokers", "tests.support.worker", "tests.support.stubs"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`), the browser tests share one process, except the walk's passes.

    Each schemathesis case (one per API operation) gets its operation in its node id: pytest 9.2 builds an item's
    id from its original name, so every case of tests/test_api_fuzz.py had the same id, and pytest-xdist, which
    schedules by id, ran one of them."""
    for item in items:
        if item.get_closest_marker("browser"):
            # The four passes of the walk (minutes each) get a group apiece, so the two processes share them; the
            # other browser tests keep one group between them.
            walk = getattr(getattr(item, "callspec", None), "id", "") if "test_walk_every_page" in item.nodeid else ""
            item.add_marker(pytest.mark.xdist_group(f"browser-walk-{walk}" if walk else "browser"))
        label = getattr(item, "operation_label", None)
        if label and isinstance(item, pytest.Function) and item.parent is not None and "[" not in item.nodeid:
            item._id = item.parent.id.child(item.originalname).with_params(label)  # type: ignore[attr-defined]


@dataclass
class World:
    """Two teams, two vendors live in one environment, and one user per role."""

    environment: Environment
    stack: Stack
    team_a: Team
    team_b: Team
    vendor_a: Vendor
    vendor_b: Vendor
    requester: User
    other_requester: User
    vendor_engineer: User
    vendor_lead: User
    other_vendor_engineer: User
    other_vendor_lead: User
    pm: User
    approver: User

    @property
    def users(self) -> dict[str, User]:
        return {
            "requester": self.requester,
            "other_requester": self.other_requester,
            "vendor_engineer": self.vendor_engineer,
            "vendor_lead": self.vendor_lead,
            "other_vendor_engineer": self.other_vendor_engineer,
            "other_vendor_lead": self.other_vendor_lead,
            "pm": self.pm,
            "approver": self.approver,
        }


@pytest.fixture
def world(db) -> World:
    return build_world()


def build_world() -> World:
    """The world's rows; for fixtures of a wider scope (the authorisation matrix builds it once per module).

    Most tests build it, so it takes ten statements (bulk inserts) rather than the factories' get-or-create of each
    row (82 statements, ~75 ms a test here, ~28 now); the rows are the factories' own (`build()`: their names,
    passwords and defaults)."""
    environment = f.EnvironmentFactory.build(code="punjab", name="Punjab")
    stack = f.StackFactory.build(code="ms", name="Microservices")
    Environment.objects.bulk_create([environment])
    Stack.objects.bulk_create([stack])
    vendor_a, vendor_b = Vendor.objects.bulk_create(
        [f.VendorFactory.build(slug="optit", name="OptIT"), f.VendorFactory.build(slug="gwl", name="GWL")]
    )
    VendorOnboarding.objects.bulk_create(
        [f.VendorOnboardingFactory.build(vendor=vendor, environment=environment) for vendor in (vendor_a, vendor_b)]
    )
    people = {
        "requester": f.UserFactory.build(username="asha"),
        "other_requester": f.UserFactory.build(username="bala"),
        "vendor_engineer": f.VendorEngineerFactory.build(username="opti-eng", vendor=vendor_a),
        "vendor_lead": f.VendorLeadFactory.build(username="opti-lead", vendor=vendor_a),
        "other_vendor_engineer": f.VendorEngineerFactory.build(username="gwl-eng", vendor=vendor_b),
        "other_vendor_lead": f.VendorLeadFactory.build(username="gwl-lead", vendor=vendor_b),
        "pm": f.UserFactory.build(username="pm"),
        "approver": f.UserFactory.build(username="egov"),
    }
    User.objects.bulk_create(people.values())
    team_a, team_b = Team.objects.bulk_create(
        [
            f.TeamFactory.build(slug="mgramseva", name="mGramSeva"),
            f.TeamFactory.build(slug="sanitation", name="Sanitation"),
        ]
    )
    Team.members.through.objects.bulk_create(
        [
            Team.members.through(team=team_a, user=people["requester"]),
            Team.members.through(team=team_b, user=people["other_requester"]),
        ]
    )
    ensure_role_groups()
    groups = {group.name: group for group in Group.objects.filter(name__in=[PROGRAM_MANAGERS, EGOV_DEVOPS])}
    User.groups.through.objects.bulk_create(
        [
            User.groups.through(user=people["pm"], group=groups[PROGRAM_MANAGERS]),
            User.groups.through(user=people["approver"], group=groups[EGOV_DEVOPS]),
        ]
    )
    return World(
        environment=environment,
        stack=stack,
        team_a=team_a,
        team_b=team_b,
        vendor_a=vendor_a,
        vendor_b=vendor_b,
        **people,
    )


@pytest.fixture
def pm(world: World) -> User:
    return world.pm


@pytest.fixture
def approver(world: World) -> User:
    return world.approver


@pytest.fixture
def requester(world: World) -> User:
    return world.requester


@pytest.fixture
def vendor_engineer(world: World) -> User:
    return world.vendor_engineer


@pytest.fixture
def other_vendor_engineer(world: World) -> User:
    return world.other_vendor_engineer
