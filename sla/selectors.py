"""SLA reads: each request's clocks as the API and pages show them, and the plain-words explanation."""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import models, router
from django.utils import timezone

from portal.compiled import CompiledForIds, CompiledQuery
from portal.timefmt import format_time
from requests_app.choices import OPEN_STATES, RequestState

from . import conditions
from .choices import REOPEN_GAP, Clock, ClockStatus, Measure, pause_reason_label
from .clock import days_off_between
from .explain import describe_days_off, format_duration
from .ledger import paused_by_reason
from .models import RequestClock
from .policies import calendar_for, goal_setting, stored_calendar_for

if TYPE_CHECKING:
    from requests_app.models import ServiceRequest


@dataclass(slots=True)
class ClockSnapshot:
    """A clock's stored figures as a list reads them: a plain row, its policy version and vendor slug inline.

    Not frozen, though nothing changes one: a frozen dataclass sets each field through `object.__setattr__`, and
    making the 200 of an API list of 50 that way cost ~0.3 ms of CPU (~0.07 ms unfrozen)."""

    clock: str
    measure: str
    started_at: datetime | None
    met_at: datetime | None
    ended_at: datetime | None
    due_at: datetime | None
    at_risk_at: datetime | None
    paused_since: datetime | None
    goal: timedelta | None
    elapsed: timedelta
    breached: bool
    policy_version: int | None
    vendor_slug: str | None


_REQUEST = -(2**62) + 401  # a request id no row holds: replaced by the real one on every run
SNAPSHOT_COLUMNS = [
    *(name for name in ClockSnapshot.__slots__ if name not in ("policy_version", "vendor_slug")),
    "policy__version",
    "vendor__slug",
]


def _snapshots_of(ids: list[int]) -> Any:
    return RequestClock.objects.filter(service_request_id__in=ids).values_list("service_request_id", *SNAPSHOT_COLUMNS)


# Compiled once per process for each number of ids (one IN (...) parameter each): building and compiling it was
# ~1 ms of the API's list of 50, about as long as running it.
_SNAPSHOTS = CompiledForIds(_snapshots_of)


def clock_snapshots(request_ids: Iterable[int]) -> dict[int, list[ClockSnapshot]]:
    """Every clock of these requests in one flat query, by request id (a page of 50 is 200 clocks: as model
    instances with their policies and vendors, prefetched, they took longer than the rest of the page)."""
    by_request: dict[int, list[ClockSnapshot]] = defaultdict(list)
    ids = list(dict.fromkeys(request_ids))  # each once, in order, as `__in` would have taken them
    if not ids:
        return by_request
    using = router.db_for_read(RequestClock)  # where the queryset itself would read (a replica, in replica_reads())
    rows = _SNAPSHOTS.rows(ids, using)
    for request_id, *values in rows:
        by_request[request_id].append(ClockSnapshot(*values))
    return by_request


@functools.cache
def _clocks_of_query() -> CompiledQuery:
    def build(request: int) -> Any:
        return RequestClock.objects.filter(service_request_id=request).values_list(*SNAPSHOT_COLUMNS)

    return CompiledQuery(build, {"request": _REQUEST})


def clock_snapshots_of(request_id: int) -> list[ClockSnapshot]:
    """`clock_snapshots([request_id])[request_id]`, its query compiled once per process: a write's answer reads
    one request's clocks, and building the query was most of the read's CPU."""
    return [ClockSnapshot(*values) for values in _clocks_of_query().rows(request=request_id)]


def clock_reading(clock: RequestClock | ClockSnapshot | None, now: datetime) -> dict[str, Any]:
    """One clock at `now`: due and met times, status, and seconds left (negative once overdue).

    Running clocks count down in wall time to a due time that already respects working hours; a paused clock
    reports the working time it has left, which is what it will get when it resumes; a finished one how early
    (positive) or late (negative) it finished."""
    if clock is None or clock.started_at is None:
        return {"due_at": None, "met_at": None, "status": ClockStatus.NOT_STARTED.value, "remaining_seconds": None}
    remaining = None
    finished = clock.met_at or clock.ended_at
    if finished and clock.due_at:
        remaining = math.floor((clock.due_at - finished).total_seconds())  # how early (or late) it finished
    if clock.met_at:
        status = ClockStatus.BREACHED if clock.breached else ClockStatus.MET
    elif clock.ended_at:
        status = ClockStatus.BREACHED if clock.breached else ClockStatus.ENDED
    elif clock.paused_since:
        status = ClockStatus.PAUSED
        if clock.goal is not None:
            remaining = math.floor((clock.goal - clock.elapsed).total_seconds())
            if remaining <= 0:
                status = ClockStatus.BREACHED
    elif clock.due_at is None:
        status = ClockStatus.NO_DUE_DATE
    else:
        remaining = math.floor((clock.due_at - now).total_seconds())
        if now >= clock.due_at:
            status = ClockStatus.BREACHED
        elif clock.at_risk_at and now >= clock.at_risk_at:
            status = ClockStatus.AT_RISK
        else:
            status = ClockStatus.ON_TRACK
    return {"due_at": clock.due_at, "met_at": clock.met_at, "status": str(status), "remaining_seconds": remaining}


def sla_summary(
    service_request: ServiceRequest,
    *,
    now: datetime | None = None,
    clocks: Iterable[RequestClock | ClockSnapshot] | None = None,
    ola: bool = True,
) -> dict[str, Any]:
    """`{sla: {response, resolution, paused, policy_version}, ola: {… vendor}}` for one request (without `ola`
    when not `ola`: a list row shows the SLA only).

    Reads `clocks`, else the request's `clock_snapshots` (set by list views from `clock_snapshots`), else
    `service_request.clocks.all()` (prefetch `clocks__policy` and `clocks__vendor` for more than one request)."""
    now = now or timezone.now()
    if clocks is None:
        clocks = getattr(service_request, "clock_snapshots", None)
    rows = service_request.clocks.all() if clocks is None else clocks
    by_key: dict[tuple[str, str], RequestClock | ClockSnapshot] = {(c.clock, c.measure): c for c in rows}
    result: dict[str, Any] = {}
    for clock in (Clock.SLA, Clock.OLA) if ola else (Clock.SLA,):
        response, resolution = by_key.get((clock, Measure.RESPONSE)), by_key.get((clock, Measure.RESOLUTION))
        either = resolution or response
        result[clock.value] = {
            "response": clock_reading(response, now),
            "resolution": clock_reading(resolution, now),
            "paused": bool((response and response.paused_since) or (resolution and resolution.paused_since)),
            "policy_version": either.policy_version if either else None,
        }
        if clock == Clock.OLA:
            result[clock.value]["vendor"] = resolution.vendor_slug if resolution else None
    return result


def worst_status(summary: dict[str, Any]) -> str:
    """The one badge a list shows for the requester's SLA: breached beats at risk beats paused beats on track."""
    statuses = {summary["sla"][m]["status"] for m in ("response", "resolution")}
    for status in (
        ClockStatus.BREACHED,
        ClockStatus.AT_RISK,
        ClockStatus.NO_DUE_DATE,
        ClockStatus.PAUSED,
        ClockStatus.ON_TRACK,
        ClockStatus.MET,
    ):
        if status in statuses:
            return str(status)
    return str(ClockStatus.NOT_STARTED)


Holds = list[tuple[str, timedelta]]


def _sla_clocks(service_request: ServiceRequest) -> list[RequestClock]:
    """The request's SLA clocks with their policies, by measure: from `prefetch_related("clocks__policy")` when the
    page prefetched them (the request page does), else one query."""
    if "clocks" in getattr(service_request, "_prefetched_objects_cache", {}):
        clocks = [clock for clock in service_request.clocks.all() if clock.clock == Clock.SLA]
        return sorted(clocks, key=lambda clock: clock.measure)
    return list(service_request.clocks.filter(clock=Clock.SLA).select_related("policy").order_by("measure"))


def sla_explain(
    service_request: ServiceRequest, *, now: datetime | None = None, holds: dict[str, Holds] | None = None
) -> list[str]:
    """The clocks in plain words: what counted, what was paused, which days were not counted and why. `holds` is
    `sla_holds(service_request)` when the caller has it already (the request page shows both)."""
    now = now or timezone.now()
    stored = stored_calendar_for(service_request.environment)
    region = stored.name.split(" (")[0]
    holds_by_measure: dict[str, Holds] | None = holds
    lines = []
    for clock in _sla_clocks(service_request):
        if clock.started_at is None or clock.policy is None:
            continue
        calendar, _ = calendar_for(service_request.environment, goal_setting(clock.policy, clock.measure)[2])
        until = clock.met_at or clock.ended_at or now
        parts = [
            f"{clock.get_measure_display()}: goal {clock.policy.describe(clock.measure)} "
            f"(policy {clock.policy.priority} v{clock.policy.version})"
        ]
        counted = clock.elapsed + (
            _working(calendar, clock.running_since, until) if clock.running_since and not clock.met_at else timedelta(0)
        )
        parts.append(f"{format_duration(counted)} of working time counted")
        if holds_by_measure is None:
            holds_by_measure = sla_holds(service_request, now=now)
        measure_holds = holds_by_measure.get(clock.measure)
        if measure_holds:
            parts.append(describe_holds(measure_holds))
        if clock.paused_since:
            parts.append(f"paused since {format_time(clock.paused_since, 'short')}")
        if not calendar.is_always_open:
            off = describe_days_off(days_off_between(calendar, clock.started_at, until), region=region)
            if off:
                parts.append(f"{off} not counted")
        else:
            parts.append("counted around the clock (24×7)")
        lines.append("; ".join(parts) + ".")
    return lines


def sla_holds(service_request: ServiceRequest, *, now: datetime | None = None) -> dict[str, Holds]:
    """Per measure of the requester's SLA: the working time its clock stood still, per reason in words, largest
    first — each pause under the reason the ledger recorded, and the time between a resolve and its reopen as
    "resolved, then reopened" (never counted: the clock was met, then ran again)."""
    from .services import sla_compute

    now = now or timezone.now()
    holds: dict[str, Holds] = {}
    # The vendor's OLA is not shown here: replaying it too was half the request page's SLA work.
    for (clock, measure), (figures, policy, _goal) in sla_compute(service_request, clocks=(Clock.SLA,)).items():
        if clock != Clock.SLA or figures.started_at is None:
            continue
        calendar, _ = calendar_for(service_request.environment, goal_setting(policy, measure)[2])
        totals = paused_by_reason(figures, calendar, now, gap_reason=REOPEN_GAP)
        holds[measure] = [(pause_reason_label(reason), total) for reason, total in totals]
    return holds


def describe_holds(holds: list[tuple[str, timedelta]]) -> str:
    """`paused 2 h 20 min: waiting on requester`, or with several reasons
    `paused 5 h 20 min: waiting on a third party 3 h, waiting on requester 2 h 20 min`."""
    total = format_duration(sum((t for _, t in holds), timedelta(0)))
    if len(holds) == 1:
        return f"paused {total}: {holds[0][0]}"
    return f"paused {total}: " + ", ".join(f"{label} {format_duration(t)}" for label, t in holds)


def _extensions_of(viewer: None, request_id: int) -> Any:
    from requests_app.choices import EventKind
    from requests_app.models import RequestEvent

    events = RequestEvent.objects.filter(service_request=request_id, kind=EventKind.SLA_EXTENDED)
    return events.select_related("actor").order_by("pk")


def sla_extensions(service_request: ServiceRequest) -> list[str]:
    """The program manager's extensions of the SLA's due times, oldest first, in words:
    `Resolution due extended by 2 days by Tammy: waiting on vendor hardware`."""
    from requests_app.compiled import rows_of_request

    lines = []
    for event in rows_of_request(_extensions_of, service_request.pk):
        measure = Measure(event.payload.get("measure", Measure.RESOLUTION)).label
        by = describe_shift(timedelta(seconds=event.payload.get("by_seconds", 0)))
        who = (event.actor.get_full_name() or event.actor.username) if event.actor else "Portico"
        lines.append(f"{measure} due extended by {by} by {who}: {event.message}")
    return lines


def describe_shift(value: timedelta) -> str:
    """`2 days`, `1 day 4 h`, `3 h 30 min`: an extension is wall-clock time, so whole days read as days."""
    days, rest = value.days, value - timedelta(days=value.days)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    if rest or not parts:
        parts.append(format_duration(rest))
    return " ".join(parts)


def _working(calendar: Any, start: datetime, end: datetime) -> timedelta:
    from .clock import working_time_between

    return working_time_between(calendar, start, max(start, end))


# The lists' SLA filter. "Breached" counts every request whose SLA was ever breached, closed ones included (the
# record); "breached, still open" and "at risk, still open" are the live figures the dashboard shows. The labels
# say which, so that a number on one page and the same word on another never mean two things.
SLA_STATUS_CHOICES = [
    ("on_track", "On track"),
    ("at_risk_open", "At risk, still open"),
    ("breached_open", "Breached, still open"),
    ("breached", "Breached (including closed)"),
    ("at_risk", "At risk (including closed)"),
    ("paused", "Paused"),
    ("met", "Met"),
    ("no_due_date", "No due date, still open"),
]

# Which requests each word means, for the dashboard, the lists (`state_group=` and `sla_status=`) and the weekly
# report alike. The report's "backlog at end of week" is `backlog_at(end of week)`; the dashboard's is at now.
STATE_GROUP_CHOICES = [
    ("open", "Open (not yet resolved)"),
    ("backlog", "Backlog (open, or resolved and awaiting confirmation)"),
]


def requests_in_state_group(requests: models.QuerySet, group: str, now: datetime) -> models.QuerySet:
    """`open`: submitted through blocked, not yet resolved. `backlog`: filed and not closed, rejected or cancelled
    (`ServiceRequestQuerySet.backlog_at`), so resolved requests awaiting confirmation count too."""
    match group:
        case "open":
            return requests.filter(state__in=OPEN_STATES)
        case "backlog":
            return requests.backlog_at(now)  # type: ignore[attr-defined]  # a ServiceRequestQuerySet
    return requests.none()


def requests_with_sla_status(requests: models.QuerySet, status: str, now: datetime) -> models.QuerySet:
    """`requests` narrowed to those whose requester-facing SLA is `status` now (the lists' SLA filter and the
    dashboard's SLA tiles): on_track, at_risk_open, breached_open, breached, at_risk, paused or met.

    A request is breached when any of its SLA clocks is (`conditions.breached`: met or ended late, or running
    past due); at risk when one is at risk and none is breached; without a due date when one runs with nothing to
    run out against (a P4 without a needed-by date), which is never "on track". "…_open" keeps only open requests.
    Breached and at risk read the request's stored instants (`conditions.request_breached`, `request_at_risk`,
    kept by `sla.services.request_sla_columns`), so "…_open" walks a partial index of open requests.
    The desk's quick filters `at_risk` and `breached` are `at_risk_open` and `breached_open` (`desk.selectors`)."""
    clocks = RequestClock.objects.filter(service_request=models.OuterRef("pk"), clock=Clock.SLA)
    breached = conditions.request_breached(now)
    at_risk = conditions.request_at_risk(now)
    no_due = models.Exists(clocks.filter(conditions.without_due_time()))
    match status:
        case "breached":
            return requests.filter(breached)
        case "breached_open":
            return requests.filter(breached, state__in=OPEN_STATES)
        case "at_risk":
            return requests.filter(at_risk)  # `request_at_risk` is never breached
        case "at_risk_open":
            return requests.filter(at_risk, state__in=OPEN_STATES)
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


def sla_due_times(service_request: ServiceRequest) -> dict[str, datetime | None]:
    """The end-to-end SLA's response and resolution due times as stored now (read fresh, never from a prefetch):
    what an edit compares before and after it retargets the clocks."""
    due = dict(
        RequestClock.objects.filter(service_request=service_request, clock=Clock.SLA).values_list("measure", "due_at")
    )
    return {"response": due.get(Measure.RESPONSE), "resolution": due.get(Measure.RESOLUTION)}
