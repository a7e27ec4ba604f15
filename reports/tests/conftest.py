"""A small fixed data set around ISO week 2026-W47 (Mon 16 – Sun 22 Nov 2026, Asia/Kolkata), written straight to
the tables with explicit timestamps, so every figure of the report can be computed by hand (see test_selectors).

    ref  vendor  env     prio type               created (IST)   picked up       resolved        closed / state
    R1   OptIT   punjab  P1   Troubleshooting    Mon 16 10:00    16 11:00        Tue 17 10:00    Wed 18 10:00 closed
    R2   OptIT   punjab  P2   InfraProvision     Tue 17 09:00    17 13:00        Thu 19 17:00    — resolved (reopened)
    R3   GWL     bihar   P2   Release            Wed 18 12:00    Fri 20 12:00    —               in_progress
    R4   GWL     punjab  P3   Troubleshooting    Wed 11 10:00    Thu 12 10:00    —               blocked
    R5   OptIT   punjab  P2   AccessOps          Mon 16 15:00    —               —               16 16:00 rejected
    R6   —       bihar   P4   NewFeature         Thu 19 09:00    —               —               20 09:00 cancelled
    R7   OptIT   punjab  P3   GitOps             Sun  1 10:00    2 Nov 10:00     —               waiting (SLA paused)
    R8   OptIT   punjab  P1   Troubleshooting    Tue 10 10:00    10 12:00        10 20:00        11 10:00 closed
    R9   —       punjab  P2   InfraProvision     Sun 22 23:30    —               —               submitted
    R10  —       punjab  P2   InfraProvision     Mon 23 00:00    —               —               submitted (W48)
    R11  OptIT   punjab  P2   Troubleshooting    Fri 13 10:00    13 12:00        Tue 24 10:00    24 12:00 closed
    R12  GWL     bihar   P0   ProductionIssue    Sat 21 10:00    —               —               queued
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from reports.spans import state_spans_sync
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.models import Environment, RequestEvent, ServiceRequest
from requests_app.tests import factories as f
from sla.choices import Clock, Measure
from sla.models import RequestClock
from sla.services import sla_columns_sync

IST = zoneinfo.ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=IST)
H = timedelta(hours=1)
S = RequestState


def ist(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=IST)


def make_request(world, ref: str, *, vendor=None, environment=None, **fields) -> ServiceRequest:
    """A request row with explicit timestamps; `state` goes through the constructor, never assigned later."""
    service_request = ServiceRequest(
        reference=ref,
        title=f"Request {ref}",
        description="Fixed data for the report tests.",
        requester=world.requester,
        team=world.team_a,
        environment=environment or world.environment,
        vendor=vendor,
        **fields,
    )
    service_request.save()
    # Its state spans, as every request has them (its current state since filing until a state change on its
    # timeline re-derives them, `make_event`): a finished week's backlog reads them.
    state_spans_sync(service_request_id=service_request.pk)
    return service_request


def make_clock(service_request, clock: str, measure: str, **fields) -> RequestClock:
    fields.setdefault("started_at", service_request.created_at)
    if clock == Clock.OLA:
        fields.setdefault("vendor", service_request.vendor)
    made = RequestClock.objects.create(service_request=service_request, clock=clock, measure=measure, **fields)
    sla_columns_sync(service_request)  # the request's stored SLA columns, as `sla_refresh` keeps them
    return made


def make_event(service_request, kind: str, at: datetime, message: str = "", to_state: str = "", **fields) -> None:
    RequestEvent.objects.create(
        service_request=service_request, kind=kind, created_at=at, message=message, to_state=to_state, **fields
    )
    if to_state:  # what the timeline's handler does for a state change appended live
        state_spans_sync(service_request_id=service_request.pk)


def both(service_request, measure: str, **fields) -> None:
    """The SLA clock and the vendor's OLA clock with the same figures."""
    make_clock(service_request, Clock.SLA, measure, **fields)
    make_clock(service_request, Clock.OLA, measure, **fields)


@dataclass
class Dataset:
    world: object
    bihar: Environment
    requests: dict[str, ServiceRequest]


@pytest.fixture
def dataset(world) -> Dataset:
    a, b = world.vendor_a, world.vendor_b
    bihar = f.EnvironmentFactory(code="bihar", name="Bihar")
    f.VendorEngineerFactory(username="opti-eng-2", vendor=a)  # OptIT: 2 engineers, GWL: 1
    T = RequestType
    r: dict[str, ServiceRequest] = {}
    r["R1"] = make_request(
        world, "R1", vendor=a, priority=Priority.P1, request_type=T.TROUBLESHOOTING, state=S.CLOSED,
        created_at=ist(16, 10), triaged_at=ist(16, 10, 30), responded_at=ist(16, 11), resolved_at=ist(17, 10),
        closed_at=ist(18, 10), rating=4, rated_at=ist(18, 10),
    )  # fmt: skip
    both(r["R1"], Measure.RESPONSE, due_at=ist(16, 14), met_at=ist(16, 11), elapsed=1 * H)
    both(r["R1"], Measure.RESOLUTION, due_at=ist(16, 22), met_at=ist(17, 10), elapsed=24 * H, breached=True)

    r["R2"] = make_request(
        world, "R2", vendor=a, priority=Priority.P2, request_type=T.INFRA_PROVISION, state=S.RESOLVED,
        created_at=ist(17, 9), triaged_at=ist(17, 9, 30), responded_at=ist(17, 13), resolved_at=ist(19, 17),
        reopen_count=1,
    )  # fmt: skip
    both(r["R2"], Measure.RESPONSE, due_at=ist(17, 17), met_at=ist(17, 13), elapsed=3.5 * H)
    make_clock(r["R2"], Clock.SLA, Measure.RESOLUTION, due_at=ist(20, 9), met_at=ist(19, 17), elapsed=20 * H)
    # The vendor's OLA is tighter than the requester's SLA: met the SLA, breached the OLA.
    make_clock(
        r["R2"], Clock.OLA, Measure.RESOLUTION, due_at=ist(19, 12), met_at=ist(19, 17), elapsed=20 * H, breached=True
    )
    make_event(r["R2"], EventKind.REOPEN, ist(18, 9), from_state=S.RESOLVED, to_state=S.IN_PROGRESS)
    make_event(r["R2"], EventKind.RESOLVE, ist(19, 17), from_state=S.IN_PROGRESS, to_state=S.RESOLVED)

    r["R3"] = make_request(
        world, "R3", vendor=b, environment=bihar, priority=Priority.P2, request_type=T.RELEASE,
        state=S.IN_PROGRESS, created_at=ist(18, 12), triaged_at=ist(18, 12, 30), responded_at=ist(20, 12),
    )  # fmt: skip
    both(r["R3"], Measure.RESPONSE, due_at=ist(19, 12), met_at=ist(20, 12), elapsed=16 * H, breached=True)
    both(r["R3"], Measure.RESOLUTION, due_at=ist(27, 12), running_since=ist(20, 12))
    make_event(
        r["R3"], EventKind.ESCALATE, ist(19, 10), "Waiting for cluster quota", from_state=S.QUEUED, to_state=S.BLOCKED
    )
    make_event(r["R3"], EventKind.UNBLOCK, ist(20, 12), from_state=S.BLOCKED, to_state=S.IN_PROGRESS)
    make_event(r["R3"], EventKind.COMMENT, ist(19, 15), "Sorry for the delay")  # after the breach: not the reason

    r["R4"] = make_request(
        world, "R4", vendor=b, priority=Priority.P3, request_type=T.TROUBLESHOOTING, state=S.BLOCKED,
        created_at=ist(11, 10), triaged_at=ist(11, 11), responded_at=ist(12, 10),
    )  # fmt: skip
    both(r["R4"], Measure.RESPONSE, due_at=ist(12, 12), met_at=ist(12, 10), elapsed=8 * H)
    both(r["R4"], Measure.RESOLUTION, due_at=ist(19, 10), running_since=ist(12, 10))
    make_event(
        r["R4"], EventKind.ESCALATE, ist(18, 9), "Need firewall change", from_state=S.IN_PROGRESS, to_state=S.BLOCKED
    )
    make_event(r["R4"], EventKind.COMMENT, ist(18, 11), "Any update on this?")  # a comment is not a reason

    r["R5"] = make_request(
        world, "R5", vendor=a, priority=Priority.P2, request_type=T.ACCESS_OPS, state=S.REJECTED,
        created_at=ist(16, 15), closed_at=ist(16, 16),
    )  # fmt: skip
    r["R6"] = make_request(
        world, "R6", environment=bihar, priority=Priority.P4, request_type=T.NEW_FEATURE, state=S.CANCELLED,
        created_at=ist(19, 9), closed_at=ist(20, 9),
    )  # fmt: skip

    r["R7"] = make_request(
        world, "R7", vendor=a, priority=Priority.P3, request_type=T.GIT_OPS, state=S.WAITING_ON_REQUESTER,
        created_at=ist(1, 10), triaged_at=ist(1, 11), responded_at=ist(2, 10),
    )  # fmt: skip
    both(r["R7"], Measure.RESPONSE, due_at=ist(2, 12), met_at=ist(2, 10), elapsed=4 * H)
    # Paused waiting on the requester: its due time has passed but a paused clock is not breached.
    both(r["R7"], Measure.RESOLUTION, due_at=ist(18, 10), paused_since=ist(5, 10), elapsed=20 * H)

    r["R8"] = make_request(
        world, "R8", vendor=a, priority=Priority.P1, request_type=T.TROUBLESHOOTING, state=S.CLOSED,
        created_at=ist(10, 10), triaged_at=ist(10, 10, 15), responded_at=ist(10, 12), resolved_at=ist(10, 20),
        closed_at=ist(11, 10), rating=2, rated_at=ist(11, 10),
    )  # fmt: skip
    both(r["R8"], Measure.RESPONSE, due_at=ist(10, 14), met_at=ist(10, 12), elapsed=2 * H)
    both(r["R8"], Measure.RESOLUTION, due_at=ist(10, 22), met_at=ist(10, 20), elapsed=10 * H)

    r["R9"] = make_request(
        world, "R9", priority=Priority.P2, request_type=T.INFRA_PROVISION, state=S.SUBMITTED, created_at=ist(22, 23, 30)
    )
    r["R10"] = make_request(
        world, "R10", priority=Priority.P2, request_type=T.INFRA_PROVISION, state=S.SUBMITTED, created_at=ist(23, 0)
    )

    r["R11"] = make_request(
        world, "R11", vendor=a, priority=Priority.P2, request_type=T.TROUBLESHOOTING, state=S.CLOSED,
        created_at=ist(13, 10), triaged_at=ist(13, 10, 30), responded_at=ist(13, 12), resolved_at=ist(24, 10),
        closed_at=ist(24, 12),
    )  # fmt: skip
    both(r["R11"], Measure.RESPONSE, due_at=ist(13, 16), met_at=ist(13, 12), elapsed=2 * H)
    both(r["R11"], Measure.RESOLUTION, due_at=ist(18, 10), met_at=ist(24, 10), elapsed=40 * H, breached=True)
    make_event(r["R11"], EventKind.PICK_UP, ist(13, 12), from_state=S.QUEUED, to_state=S.IN_PROGRESS)
    make_event(r["R11"], EventKind.REQUEST_INFO, ist(17, 10), "Which namespace?", to_state=S.WAITING_ON_REQUESTER)
    make_event(r["R11"], EventKind.PROVIDE_INFO, ist(17, 12), "mgramseva-uat", to_state=S.IN_PROGRESS)
    make_event(r["R11"], EventKind.RESOLVE, ist(24, 10), to_state=S.RESOLVED)

    r["R12"] = make_request(
        world, "R12", vendor=b, environment=bihar, priority=Priority.P0, request_type=T.PRODUCTION_ISSUE,
        state=S.QUEUED, created_at=ist(21, 10), triaged_at=ist(21, 10, 10),
    )  # fmt: skip
    both(r["R12"], Measure.RESPONSE, started_at=ist(21, 10, 10), due_at=ist(21, 14, 10), running_since=ist(21, 10, 10))
    return Dataset(world=world, bihar=bihar, requests=r)
