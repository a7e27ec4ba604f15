"""State spans (reports/spans.py): written with every state change, equal to what the backfill derives, and giving
the delivery metrics the same time in each state as the old computation that summed the window's events."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.db.models import Q

from reports.metrics import WORK_STATES, StateTime, delivery_metrics, state_time_of
from reports.models import StateSpan
from reports.spans import state_spans_backfill
from requests_app.choices import OPEN_STATES, EventKind, Priority, RequestType
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.services.workflow import allowed_transitions, request_transition
from requests_app.tests import factories as f
from requests_app.timeline import timeline_append

from .conftest import S, ist, make_request

pytestmark = pytest.mark.django_db
START = ist(2, 9)  # Mon 2 Nov 2026 09:00 IST; life cycles run for about three weeks from here


def spans_of(service_request: ServiceRequest) -> list[tuple[str, datetime, datetime | None]]:
    return list(
        StateSpan.objects.filter(service_request=service_request)
        .order_by("started_at", "pk")
        .values_list("state", "started_at", "ended_at")
    )


def all_spans() -> list[tuple[int, str, datetime, datetime | None]]:
    return sorted(
        StateSpan.objects.values_list("service_request_id", "state", "started_at", "ended_at"),
        key=lambda span: (span[0], span[2], span[3] or datetime.max.replace(tzinfo=span[2].tzinfo)),
    )


def filed(world, ref: str, moment: datetime, **fields) -> ServiceRequest:
    fields.setdefault("request_type", RequestType.TROUBLESHOOTING)
    return make_request(
        world, ref, vendor=world.vendor_a, created_at=moment, state=S.SUBMITTED, priority=Priority.P3, **fields
    )


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def test_each_state_change_closes_the_open_span_and_opens_the_next(world):
    with at(START):
        service_request = filed(world, "A1", START)
        timeline_append(service_request, kind=EventKind.FILED, to_state=S.SUBMITTED)
    with at(START + timedelta(hours=1)):
        request_transition(service_request, "triage", actor=None)
    with at(START + timedelta(hours=2)):
        request_transition(service_request, "pick_up", actor=None, engineer_id=world.vendor_engineer.pk)
    with at(START + timedelta(hours=3)):
        timeline_append(service_request, kind=EventKind.COMMENT, message="No state change, no new span")
    with at(START + timedelta(hours=5)):
        request_transition(service_request, "escalate", actor=None)

    triaged = spans_of(service_request)[1][0]  # queued or pending approval: the catalogue's rule for the type
    assert spans_of(service_request) == [
        (S.SUBMITTED, START, START + timedelta(hours=1)),
        (triaged, START + timedelta(hours=1), START + timedelta(hours=2)),
        (S.IN_PROGRESS, START + timedelta(hours=2), START + timedelta(hours=5)),
        (S.BLOCKED, START + timedelta(hours=5), None),
    ]


def test_before_its_first_change_a_request_was_in_that_changes_from_state_since_filing(world):
    service_request = filed(world, "A2", START)
    with at(START + timedelta(hours=4)):
        request_transition(service_request, "triage", actor=None)  # no filing event: filed through fixtures

    assert spans_of(service_request)[0] == (S.SUBMITTED, START, START + timedelta(hours=4))


def test_a_rolled_back_change_leaves_the_spans_as_they_were(world):
    service_request = filed(world, "A3", START)
    with at(START + timedelta(hours=1)):
        request_transition(service_request, "triage", actor=None)
    before = spans_of(service_request)

    with pytest.raises(RuntimeError), transaction.atomic(), at(START + timedelta(hours=2)):
        request_transition(service_request, "escalate", actor=None)
        assert spans_of(service_request)[-1][0] == S.BLOCKED  # written in the change's own transaction
        raise RuntimeError("the caller fails after the change")

    assert spans_of(service_request) == before


# --- random life cycles: live spans = backfilled spans, and the figures of the old event-summing computation -----
def _arguments(name: str, world, rng: random.Random, service_request: ServiceRequest) -> dict | None:
    engineers = world.engineers
    if name == "pick_up":
        return {"engineer_id": rng.choice(engineers).pk}
    if name == "reassign":
        others = [e.pk for e in engineers if e.pk != service_request.assignee_id]
        return {"vendor_id": service_request.vendor_id, "assignee_id": rng.choice(others)}
    if name == "resolve":
        return {"note": "Done."}
    if name in ("reject", "cancel", "deny", "auto_close") and rng.random() < 0.7:
        return None  # ending early is rare, so most life cycles reach the working states
    return {}


def live_life_cycles(world, seed: int, count: int = 8) -> datetime:
    """`count` requests walked through random transitions (reassignments and reopens among them) as the system,
    each change at its own minute; returns the moment after the last change."""
    rng = random.Random(seed)
    world.engineers = [world.vendor_engineer, *(f.VendorEngineerFactory(vendor=world.vendor_a) for _ in range(2))]
    latest = START
    for n in range(count):
        moment = START + timedelta(minutes=rng.randrange(0, 5 * 24 * 60))
        with at(moment):
            kind = rng.choice([RequestType.TROUBLESHOOTING, RequestType.GIT_OPS])
            service_request = filed(world, f"R{seed}-{n}", moment, request_type=kind)
            if rng.random() < 0.7:  # filed as `request_file` files (the others: no filing event at all)
                timeline_append(service_request, kind=EventKind.FILED, to_state=S.SUBMITTED)
        for _ in range(rng.randrange(3, 14)):
            moment += timedelta(minutes=rng.randrange(1, 3 * 24 * 60))
            with at(moment):
                service_request.refresh_from_db()
                names = allowed_transitions(service_request, None)
                rng.shuffle(names)
                for name in names:
                    arguments = _arguments(name, world, rng, service_request)
                    if arguments is not None:
                        request_transition(service_request, name, actor=None, **arguments)
                        break
            latest = max(latest, moment)
    return latest + timedelta(minutes=1)


def event_derived_state_times(start: datetime, end: datetime, now: datetime) -> dict[tuple[str, str], StateTime]:
    """The computation the spans replace, as it was: telescoping sums over the window's state-change events."""
    bound = min(end, max(now, start))
    people = {
        row["pk"]: row
        for row in ServiceRequest.objects.filter(assignee__isnull=False, created_at__lt=bound)
        .filter(Q(state__in=OPEN_STATES) | Q(resolved_at__gte=start) | Q(closed_at__gte=start))
        .values("pk", "state", "created_at", "assignee__username")
    }
    changes = (
        RequestEvent.objects.filter(service_request_id__in=people, created_at__gte=start)
        .exclude(to_state="")
        .order_by("service_request_id", "created_at", "pk")
        .values_list("service_request_id", "from_state", "to_state", "created_at")
    )

    def start_in(pk: int, state: str) -> defaultdict[str, float]:
        return defaultdict(float, {state: (bound - max(start, people[pk]["created_at"])).total_seconds()})

    seconds = {pk: start_in(pk, row["state"]) for pk, row in people.items()}
    seen: set[int] = set()
    for pk, before, after, moment in changes:
        if pk not in seen:
            seen.add(pk)
            seconds[pk] = start_in(pk, before)
        if moment < bound:
            seconds[pk][after] += (bound - moment).total_seconds()
            seconds[pk][before] -= (bound - moment).total_seconds()
    per_person: dict[tuple[str, str], list[float]] = defaultdict(list)
    for pk, states in seconds.items():
        for state in WORK_STATES:
            if states.get(state, 0) >= 0.5:
                per_person[(people[pk]["assignee__username"], state)].append(states[state])
    return {key: state_time_of(values) for key, values in per_person.items()}


def span_state_times(user, date_from: str, date_to: str, now: datetime) -> dict[tuple[str, str], StateTime]:
    load = delivery_metrics(user=user, date_from=date_from, date_to=date_to, now=now).load
    return {
        (row.username, state): getattr(row, state)
        for row in load
        for state in WORK_STATES
        if getattr(row, state).requests
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_spans_give_the_old_event_derived_time_in_each_state(world, seed):
    end = live_life_cycles(world, seed)
    windows = [("2026-11-01", "2026-11-30"), ("2026-11-03", "2026-11-05"), ("2026-11-06", "2026-11-20")]
    nows = [end, START + (end - START) / 2]  # the second runs into "now": time is counted up to it
    reassigned = RequestEvent.objects.filter(kind=EventKind.REASSIGN).exists()
    reopened = RequestEvent.objects.filter(kind=EventKind.REOPEN).exists()

    for date_from, date_to in windows:
        for now in nows:
            start = datetime.fromisoformat(date_from).replace(tzinfo=START.tzinfo)
            finish = datetime.fromisoformat(date_to).replace(tzinfo=START.tzinfo) + timedelta(days=1)
            expected = event_derived_state_times(start, finish, now)
            assert span_state_times(world.pm, date_from, date_to, now) == expected, (date_from, date_to, now)
    assert expected  # the life cycles reached the working states
    assert reassigned or reopened  # and the seeds exercise reassignments or reopens


@pytest.mark.parametrize("seed", [4, 5])
def test_the_backfill_derives_the_spans_the_live_writes_wrote(world, seed):
    live_life_cycles(world, seed)
    live = all_spans()
    StateSpan.objects.all().delete()

    result = state_spans_backfill(batch=3)  # several batches, one of them partly empty

    assert all_spans() == live
    assert result["spans"] == len(live) > 0


def test_the_backfill_command_is_safe_to_repeat(world, capsys):
    live_life_cycles(world, 6, count=3)
    live = all_spans()

    call_command("report_state_spans_backfill")
    call_command("report_state_spans_backfill", batch=1)

    assert all_spans() == live
    assert f"{len(live):,} spans" in capsys.readouterr().out


def test_a_span_credits_the_requests_current_assignee(world):
    """Time in a state goes to whoever is assigned now, for all of the request's time (the figure's definition):
    reassigned work moves with the request."""
    engineers = [world.vendor_engineer, f.VendorEngineerFactory(username="opti-eng-2", vendor=world.vendor_a)]
    with at(START):
        service_request = filed(world, "A4", START)
    with at(START + timedelta(hours=1)):
        request_transition(service_request, "triage", actor=None)
    service_request.refresh_from_db()
    if service_request.state == S.PENDING_APPROVAL:
        with at(START + timedelta(hours=1, minutes=30)):
            request_transition(service_request, "approve", actor=None)
    with at(START + timedelta(hours=2)):
        request_transition(service_request, "pick_up", actor=None, engineer_id=engineers[0].pk)
    with at(START + timedelta(hours=12)):
        request_transition(
            service_request, "reassign", actor=None, vendor_id=world.vendor_a.pk, assignee_id=engineers[1].pk
        )

    times = span_state_times(world.pm, "2026-11-02", "2026-11-02", START + timedelta(hours=14))

    assert times == {("opti-eng-2", S.IN_PROGRESS): StateTime(requests=1, total_hours=12.0, median_hours=12.0)}


def test_the_demo_seed_derives_the_spans_of_what_it_seeds(db):
    call_command("seed_demo", stdout=StringIO())  # COPY on PostgreSQL: no event passes the handlers
    seeded = all_spans()

    running = dict(StateSpan.objects.filter(ended_at__isnull=True).values_list("service_request_id", "state"))
    assert running == dict(ServiceRequest.objects.values_list("pk", "state"))  # each request's last span: its state
    StateSpan.objects.all().delete()
    state_spans_backfill()
    assert all_spans() == seeded
