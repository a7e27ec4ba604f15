"""Shared fixtures: one small world with two teams, two vendors and every role."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from portal.models import User
from requests_app.models import Environment, Stack, Team, Vendor
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
    """The world's rows; for fixtures of a wider scope (the authorisation matrix builds it once per module)."""
    environment = f.EnvironmentFactory(code="punjab", name="Punjab")
    vendor_a = f.VendorFactory(slug="optit", name="OptIT")
    vendor_b = f.VendorFactory(slug="gwl", name="GWL")
    f.VendorOnboardingFactory(vendor=vendor_a, environment=environment)
    f.VendorOnboardingFactory(vendor=vendor_b, environment=environment)
    requester = f.UserFactory(username="asha")
    other_requester = f.UserFactory(username="bala")
    return World(
        environment=environment,
        stack=f.StackFactory(code="ms", name="Microservices"),
        team_a=f.TeamFactory(slug="mgramseva", name="mGramSeva", members=[requester]),
        team_b=f.TeamFactory(slug="sanitation", name="Sanitation", members=[other_requester]),
        vendor_a=vendor_a,
        vendor_b=vendor_b,
        requester=requester,
        other_requester=other_requester,
        vendor_engineer=f.VendorEngineerFactory(username="opti-eng", vendor=vendor_a),
        vendor_lead=f.VendorLeadFactory(username="opti-lead", vendor=vendor_a),
        other_vendor_engineer=f.VendorEngineerFactory(username="gwl-eng", vendor=vendor_b),
        other_vendor_lead=f.VendorLeadFactory(username="gwl-lead", vendor=vendor_b),
        pm=f.ProgramManagerFactory(username="pm"),
        approver=f.EgovDevopsFactory(username="egov"),
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
