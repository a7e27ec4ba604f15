"""seed_demo: every state, histories that follow the workflow, consistent timestamps, and safe to repeat."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from demo import seed, stories, world
from portal.models import User
from requests_app.choices import FINAL_STATES, EventKind, OnboardingStatus, RequestState
from requests_app.models import Environment, RequestEvent, ServiceRequest, VendorOnboarding
from requests_app.roles import Role, role_of
from requests_app.testing.workflow import file_request
from sla.services import sla_replay

pytestmark = pytest.mark.django_db


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded() -> str:
    return _seed()


def test_seeds_the_reference_world_and_one_login_per_role(seeded):
    assert set(Environment.objects.values_list("code", flat=True)) == {"internal", "punjab", "ap", "bihar"}
    assert set(Environment.objects.values_list("timezone", flat=True)) == {"Asia/Kolkata"}
    statuses = set(VendorOnboarding.objects.values_list("status", flat=True))
    assert OnboardingStatus.LIVE in statuses
    assert {OnboardingStatus.EVALUATION, OnboardingStatus.TRAINING, OnboardingStatus.NDA_SIGNED} <= statuses
    for onboarding in VendorOnboarding.objects.all():  # each onboarding page has a first history entry
        assert [(step.to_stage, step.actor.username) for step in onboarding.steps.all()] == [(onboarding.status, "pm")]
    roles = {role_of(User.objects.get(username=username)) for username in world.DEMO_LOGINS.values()}
    assert roles == set(Role)
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="requester").check_password(world.DEMO_PASSWORD)
    for username in world.DEMO_LOGINS.values():
        assert f" {username}\n" in seeded


def test_about_two_hundred_requests_in_every_state(seeded):
    assert ServiceRequest.objects.count() == 200
    assert set(ServiceRequest.objects.values_list("state", flat=True)) == set(RequestState)


def test_histories_follow_the_workflow_with_consistent_timestamps(seeded):
    now = timezone.now()
    requests = ServiceRequest.objects.select_related("environment", "team", "vendor", "assignee")
    events_by_request: dict[int, list[RequestEvent]] = {}
    for event in RequestEvent.objects.order_by("created_at", "pk"):
        events_by_request.setdefault(event.service_request_id, []).append(event)
    for service_request in requests:
        events = events_by_request[service_request.pk]
        label = service_request.reference
        assert service_request.reference == f"REQ-{service_request.pk:06d}"
        assert (events[0].kind, events[0].to_state, events[0].created_at) == (
            EventKind.FILED,
            RequestState.SUBMITTED,
            service_request.created_at,
        ), label
        times = [event.created_at for event in events]
        assert times == sorted(times) and len(set(times)) == len(times), label
        assert times[-1] <= now, label
        state = RequestState.SUBMITTED
        for event in events[1:]:
            if event.to_state:  # a transition: it starts where the last one ended
                assert event.from_state == state, (label, event.kind)
                state = event.to_state
        assert state == service_request.state, label
        assert service_request.team.members.filter(pk=service_request.requester_id).exists(), label

        by_kind = {}
        for event in events:
            by_kind.setdefault(event.kind, []).append(event.created_at)
        assert service_request.triaged_at == (by_kind.get(EventKind.TRIAGE) or [None])[0], label
        assert service_request.responded_at == (by_kind.get(EventKind.PICK_UP) or [None])[0], label
        if service_request.state in (RequestState.RESOLVED, RequestState.CLOSED):
            assert service_request.resolved_at == by_kind[EventKind.RESOLVE][-1], label
        if service_request.state in FINAL_STATES:
            assert service_request.closed_at == times[-1], label
        else:
            assert service_request.closed_at is None, label
        if service_request.state == RequestState.RESOLVED:  # else auto-close would already have closed it
            assert now - service_request.resolved_at < timedelta(days=5), label
        if service_request.assignee:
            assert service_request.assignee.vendor_id == service_request.vendor_id, label
        if service_request.vendor:
            assert VendorOnboarding.objects.filter(
                vendor=service_request.vendor, environment=service_request.environment, status=OnboardingStatus.LIVE
            ).exists(), label
        # The seeded clocks are what the live SLA engine derives from the seeded ledger, to the second.
        replayed = sla_replay(service_request)
        assert not [c for c in replayed if c["changed"]], label
        sla_response = next(c for c in replayed if (c["clock"], c["measure"]) == ("sla", "response"))
        assert service_request.response_due_at == sla_response["due_after"], label


def test_requests_spread_over_the_last_eight_weeks(seeded):
    now = timezone.now()
    ages = [now - created for created in ServiceRequest.objects.values_list("created_at", flat=True)]
    assert max(ages) > timedelta(weeks=5)
    assert sum(age < timedelta(weeks=9) for age in ages) >= 0.95 * len(ages)


def test_running_it_again_adds_nothing_and_filing_continues_the_numbering(seeded, django_capture_on_commit_callbacks):
    events = RequestEvent.objects.count()
    _seed()
    assert ServiceRequest.objects.count() == 200
    assert RequestEvent.objects.count() == events

    class World:
        requester = User.objects.get(username="requester")
        environment = Environment.objects.get(code="punjab")
        stack = None

    newest = ServiceRequest.objects.order_by("-pk").first()
    filed = file_request(World)
    assert filed.pk > newest.pk
    assert filed.reference == f"REQ-{filed.pk:06d}"


def test_reset_wipes_the_append_only_timeline_and_regenerates(seeded):
    output = _seed("--reset", "--requests", "30")
    assert "Removed every request" in output
    assert ServiceRequest.objects.count() == 30
    assert set(RequestEvent.objects.values_list("service_request_id", flat=True)) == set(
        ServiceRequest.objects.values_list("pk", flat=True)
    )


def test_if_empty_leaves_a_used_database_alone(seeded):
    output = _seed("--if-empty", "--requests", "500")
    assert "not seeding" in output
    assert ServiceRequest.objects.count() == 200


def test_large_seeds_look_like_a_desk_that_has_run_for_years():
    """A benchmark-sized seed files ~6,400 requests a week and keeps only the recent weeks' worth in flight."""
    assert seed._spread(200) == (stories.WINDOW, 1.0)
    window, active = seed._spread(1_000_000)
    assert 156 <= window / timedelta(weeks=1) <= 157
    assert active == pytest.approx(seed.ACTIVE_WEEKS * seed.WEEKLY_INTAKE / 1_000_000)

    count = 200_000
    targets = list(seed._targets_for(count, random.Random(1)))
    recent = round(count * seed._spread(count)[1])
    assert all(target in FINAL_STATES for target in targets[:-recent])  # the finished ones come first
    assert set(targets[-recent:][: len(seed.STATE_WEIGHTS)]) == set(seed.STATE_WEIGHTS)  # every state shows
    open_share = sum(target not in FINAL_STATES and target != RequestState.RESOLVED for target in targets) / count
    expected = (
        recent
        / count
        * sum(w for state, w in seed.STATE_WEIGHTS.items() if state not in FINAL_STATES and state != "resolved")
        / sum(seed.STATE_WEIGHTS.values())
    )
    assert open_share == pytest.approx(expected, rel=0.1)


@pytest.mark.django_db
def test_a_large_seed_files_its_requests_in_id_order(monkeypatch):
    """Ids grow with filing time, as in production (a week's rows then sit together on disk)."""
    monkeypatch.setattr(seed, "WEEKLY_INTAKE", 50)  # 3,000 requests then reach back a year, most of them finished
    demo_world = world.demo_world_ensure()
    seed.demo_requests_generate(demo_world, count=3_000, batch_size=1_000)
    created = list(ServiceRequest.objects.order_by("pk").values_list("created_at", flat=True))
    finished = list(
        ServiceRequest.objects.filter(state__in=FINAL_STATES).order_by("pk").values_list("created_at", flat=True)
    )
    assert created[0] < timezone.now() - timedelta(weeks=50)
    out_of_order = sum(later < earlier for earlier, later in itertools.pairwise(finished))
    assert out_of_order < len(finished) * 0.02  # only where a story is longer than its slot is old
    assert sorted(created[:1_000]) == created[:1_000]  # each batch is written in filing order


@pytest.mark.django_db
def test_a_large_seed_keeps_the_planners_statistics_up_to_date():
    """Statistics are refreshed after 1, 2, 4, … batches, so the last doubling leaves the planner the true size."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("ANALYZE is PostgreSQL's")
    demo_world = world.demo_world_ensure()
    seed.demo_requests_generate(demo_world, count=400, batch_size=100)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [ServiceRequest._meta.db_table])
        (estimated,) = cursor.fetchone()
    assert estimated == ServiceRequest.objects.count() == 400
