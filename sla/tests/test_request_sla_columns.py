"""The request's stored SLA instants (`sla_breach_at`, `next_at_risk_at`): the filters that read them answer exactly
as the former subqueries over the clocks did, every workflow step keeps them, the migration fills them, and on
PostgreSQL "breached, still open" reads its partial index."""

from __future__ import annotations

import importlib
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import connection, models

from portal.exceptions import PortalError
from requests_app import services
from requests_app.choices import OPEN_STATES, Priority, RequestState
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request
from sla import conditions
from sla.choices import Clock, PauseReason
from sla.defaults import ensure_defaults
from sla.models import RequestClock
from sla.selectors import SLA_STATUS_CHOICES, requests_with_sla_status
from sla.services import REQUEST_SLA_COLUMNS, request_sla_columns

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")
START = datetime(2026, 11, 16, 9, 0, tzinfo=IST)
H = timedelta(hours=1)


def reference_with_sla_status(requests: models.QuerySet, status: str, now: datetime) -> models.QuerySet:
    """The definition as it was before the stored instants: subqueries over the SLA clocks (kept here as the
    reference the stored columns must match)."""
    clocks = RequestClock.objects.filter(service_request=models.OuterRef("pk"), clock=Clock.SLA)
    breached = models.Exists(clocks.filter(conditions.breached(now)))
    at_risk = models.Exists(clocks.filter(conditions.at_risk(now)))
    no_due = models.Exists(clocks.filter(conditions.without_due_time()))
    match status:
        case "breached":
            return requests.filter(breached)
        case "breached_open":
            return requests.filter(breached, state__in=OPEN_STATES)
        case "at_risk":
            return requests.filter(at_risk).exclude(breached)
        case "at_risk_open":
            return requests.filter(at_risk, state__in=OPEN_STATES).exclude(breached)
        case "paused":
            return requests.filter(state=RequestState.WAITING_ON_REQUESTER).exclude(breached)
        case "on_track":
            return (
                requests.filter(state__in=OPEN_STATES)
                .exclude(state=RequestState.WAITING_ON_REQUESTER)
                .exclude(breached)
                .exclude(at_risk)
                .exclude(no_due)
            )
        case "no_due_date":
            return requests.filter(no_due, state__in=OPEN_STATES)
        case "met":
            return requests.filter(resolved_at__isnull=False).exclude(breached)
    return requests.none()


def stored(service_request: ServiceRequest) -> dict[str, datetime | None]:
    row = ServiceRequest.objects.values(*REQUEST_SLA_COLUMNS).get(pk=service_request.pk)
    return dict(row)


def from_clocks(service_request: ServiceRequest) -> dict[str, datetime | None]:
    return request_sla_columns(RequestClock.objects.filter(service_request=service_request))


# --- a randomized seeded set: the stored columns answer as the subqueries did ---------------------------------------
def _step(world, service_request: ServiceRequest, rng: random.Random) -> ServiceRequest:
    """One workflow step chosen at random among those that make sense now; refused steps change nothing."""
    state = service_request.state
    pm, engineer, requester = world.pm, world.vendor_engineer, world.requester
    choices = {
        RequestState.SUBMITTED: ["triage", "triage", "priority", "cancel"],
        RequestState.QUEUED: ["pick_up", "pick_up", "priority", "cancel"],
        RequestState.IN_PROGRESS: ["resolve", "request_info", "escalate", "priority"],
        RequestState.WAITING_ON_REQUESTER: ["provide_info", "provide_info", "cancel"],
        RequestState.BLOCKED: ["unblock", "priority"],
        RequestState.RESOLVED: ["reopen", "confirm"],
    }.get(state, [])
    if not choices:
        return service_request
    action = rng.choice(choices)
    actions = {
        "triage": lambda: services.request_triage(service_request, actor=pm, vendor=world.vendor_a),
        "pick_up": lambda: services.request_pick_up(service_request, actor=engineer),
        "resolve": lambda: services.request_resolve(service_request, actor=engineer, reason="Done."),
        "request_info": lambda: services.request_request_info(service_request, actor=engineer, reason="Which?"),
        "provide_info": lambda: services.request_provide_info(service_request, actor=requester, reason="That one."),
        "escalate": lambda: services.request_escalate(
            service_request,
            actor=engineer,
            reason="Waiting on the data centre.",
            pause_reason=rng.choice([PauseReason.WAITING_ON_THIRD_PARTY, PauseReason.BLOCKED]),
        ),
        "unblock": lambda: services.request_unblock(service_request, actor=engineer, reason="Unblocked."),
        "reopen": lambda: services.request_reopen(service_request, actor=requester, reason="Still broken."),
        "confirm": lambda: services.request_confirm(service_request, actor=requester),
        "cancel": lambda: services.request_cancel(service_request, actor=requester, reason="No longer needed."),
        "priority": lambda: services.request_update(
            service_request,
            actor=pm,
            changes={"priority": rng.choice([p for p in Priority.values if p not in (service_request.priority, "P4")])},
            reason="Re-rated.",
        ),
    }
    try:
        return actions[action]()
    except PortalError:
        return ServiceRequest.objects.get(pk=service_request.pk)


def seed(world, count: int) -> datetime:
    """`count` requests filed over three days at random instants (seeded), each walked through random steps: pick-ups on
    time and late, pauses, escalations, priority changes, resolves, reopens and cancels."""
    ensure_defaults()
    rng = random.Random(2026)
    last = START
    for number in range(count):
        at = START + timedelta(minutes=rng.randrange(0, 72 * 60))
        with time_machine.travel(at, tick=False):
            service_request = file_request(
                world, priority=rng.choice(["P0", "P0", "P1", "P1", "P2", "P3"]), title=f"Seeded {number}"
            )
        for _ in range(rng.randrange(0, 7)):
            at += timedelta(minutes=rng.randrange(10, 4 * 60))
            with time_machine.travel(at, tick=False):
                service_request = _step(world, service_request, rng)
        last = max(last, at)
    return last


@pytest.fixture
def seeded_set(world):
    return seed(world, 40)


@pytest.fixture
def small_set(world):
    return seed(world, 12)


def test_stored_instants_answer_every_sla_status_as_the_clock_subqueries_did(seeded_set):
    every = ServiceRequest.objects.all()
    for request in every:
        assert stored(request) == from_clocks(request), request.reference
    seen: dict[str, set[int]] = {status: set() for status, _ in SLA_STATUS_CHOICES}
    for offset in (0, 0.5, 1, 2, 3, 5, 8, 13, 24, 48, 96):
        now = seeded_set + offset * H
        for status, _label in SLA_STATUS_CHOICES:
            expected = set(reference_with_sla_status(every, status, now).values_list("pk", flat=True))
            actual = set(requests_with_sla_status(every, status, now).values_list("pk", flat=True))
            assert actual == expected, (status, offset)
            seen[status] |= actual
    # The set tells the statuses apart: none of the comparisons above was between two empty sets only.
    for status in ("breached_open", "at_risk_open", "breached", "on_track", "met"):
        assert seen[status], status
    assert every.filter(state__in=[RequestState.WAITING_ON_REQUESTER, RequestState.BLOCKED]).exists()  # held clocks
    breached_late_but_running_on_time = [
        r
        for r in every.filter(state__in=OPEN_STATES, sla_breach_at__isnull=False)
        if r.next_due_at is None or r.next_due_at > r.sla_breach_at
    ]
    # A response met late while the resolution still runs on time: breached, though `next_due_at` is ahead.
    assert breached_late_but_running_on_time


# --- each step keeps the columns ------------------------------------------------------------------------------------
def test_pause_resume_priority_change_resolve_and_reopen_keep_the_stored_instants(world):
    """A P0 (24×7: 4 h to respond, 24 h to resolve, at risk at 75 %), walked through every kind of clock move."""
    ensure_defaults()
    with time_machine.travel(START, tick=False):
        service_request = file_request(world, priority=Priority.P0)
    assert stored(service_request) == from_clocks(service_request)
    assert stored(service_request)["next_at_risk_at"] == START + 3 * H  # the response clock, 3 h of 4
    assert stored(service_request)["sla_breach_at"] == START + 4 * H

    with time_machine.travel(START + H, tick=False):
        service_request = services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
        service_request = services.request_pick_up(service_request, actor=world.vendor_engineer)
    after_pick_up = stored(service_request)
    assert after_pick_up["next_at_risk_at"] == START + 18 * H  # now only the resolution clock runs
    assert after_pick_up["sla_breach_at"] == after_pick_up["next_due_at"] == START + 24 * H

    with time_machine.travel(START + 2 * H, tick=False):
        service_request = services.request_request_info(service_request, actor=world.vendor_engineer, reason="Which?")
    assert stored(service_request) == from_clocks(service_request)
    paused = stored(service_request)
    assert (paused["sla_breach_at"], paused["next_at_risk_at"], paused["next_due_at"]) == (None, None, None)
    assert not requests_with_sla_status(ServiceRequest.objects.all(), "breached_open", START + 30 * H).exists()

    with time_machine.travel(START + 5 * H, tick=False):  # paused for 3 h: everything moves by 3 h
        service_request = services.request_provide_info(service_request, actor=world.requester, reason="That one.")
    resumed = stored(service_request)
    assert resumed["sla_breach_at"] == START + 27 * H and resumed["next_at_risk_at"] == START + 21 * H

    with time_machine.travel(START + 6 * H, tick=False):  # P1: 12 h to resolve from filing, plus the 3 h paused
        service_request = services.request_update(
            service_request, actor=world.pm, changes={"priority": Priority.P1}, reason="Less urgent than thought."
        )
    retargeted = stored(service_request)
    assert retargeted == from_clocks(service_request)
    assert retargeted["sla_breach_at"] == START + 15 * H and retargeted["next_at_risk_at"] == START + 12 * H

    with time_machine.travel(START + 16 * H, tick=False):  # resolved an hour late
        service_request = services.request_resolve(service_request, actor=world.vendor_engineer, reason="Done.")
    resolved = stored(service_request)
    assert resolved == from_clocks(service_request)
    assert resolved["next_due_at"] is None and resolved["next_at_risk_at"] is None
    assert resolved["sla_breach_at"] == START + 15 * H  # finished late: breached for good

    with time_machine.travel(START + 17 * H, tick=False):
        service_request = services.request_reopen(service_request, actor=world.requester, reason="Still broken.")
    reopened = stored(service_request)
    assert reopened == from_clocks(service_request)
    assert reopened["next_due_at"] is not None  # running again, and overdue: breached, still open
    breached = requests_with_sla_status(ServiceRequest.objects.all(), "breached_open", START + 17 * H)
    assert list(breached) == [service_request]


def test_a_response_met_late_keeps_an_open_request_breached(world):
    ensure_defaults()
    with time_machine.travel(START, tick=False):
        service_request = file_request(world, priority=Priority.P0)
        service_request = services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
    with time_machine.travel(START + 5 * H, tick=False):  # an hour past the 4 h response goal
        service_request = services.request_pick_up(service_request, actor=world.vendor_engineer)
    columns = stored(service_request)
    assert columns["next_due_at"] == START + 24 * H and columns["sla_breach_at"] == START + 4 * H
    now = START + 6 * H
    every = ServiceRequest.objects.all()
    assert list(requests_with_sla_status(every, "breached_open", now)) == [service_request]
    assert list(reference_with_sla_status(every, "breached_open", now)) == [service_request]
    assert not requests_with_sla_status(every, "at_risk_open", START + 20 * H).exists()  # breached beats at risk


# --- the migration fills existing rows -----------------------------------------------------------------------------
def test_the_migration_fills_the_instants_of_existing_requests(small_set):
    migration = importlib.import_module("requests_app.migrations.0023_request_sla_breach_and_at_risk")
    expected = {r.pk: from_clocks(r) for r in ServiceRequest.objects.all()}
    assert any(e["sla_breach_at"] for e in expected.values()) and any(e["next_at_risk_at"] for e in expected.values())
    ServiceRequest.objects.update(sla_breach_at=None, next_at_risk_at=None)
    migration.BATCH = 7  # several batches, one of them partly empty
    migration.backfill_breach_and_at_risk(django_apps, None)
    for pk, columns in expected.items():
        assert stored(ServiceRequest(pk=pk)) == columns, pk


# --- PostgreSQL reads the partial index ----------------------------------------------------------------------------
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the index plan is PostgreSQL's")
def test_breached_still_open_reads_its_partial_index(small_set):
    now = small_set + 2 * H
    # At risk may enter by either instant; both are partial indexes of open requests.
    for status, indexes in (
        ("breached_open", {"req_open_breach"}),
        ("at_risk_open", {"req_open_at_risk", "req_open_breach"}),
    ):
        query = requests_with_sla_status(ServiceRequest.objects.order_by(), status, now).values("pk")
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert any(index in plan for index in indexes), plan
        assert "Seq Scan" not in plan, plan
