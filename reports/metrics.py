"""Delivery metrics (issue 15): every figure of the metrics page and `/api/v1/reports/metrics/` is defined here.

Scope: the weekly report's (`selectors.queries._scope`): requests `visible_to(user)` with the vendor, environment,
priority and type filters; a vendor lead is held to their own vendor, requesters and engineers get 403.

The window is `from` 00:00 to the day after `to` 00:00 on the report timezone's wall clock (PORTICO_REPORT_TIMEZONE),
at most 366 days. "Weeks in the window" is its length in days ÷ 7. Durations are wall-clock hours, rounded to one
decimal; a mean or median over no request is null.

Each figure is a fixed number of queries whatever the data size. On PostgreSQL each section is one statement that
returns a row per group (GROUPING SETS; the median as `percentile_cont(0.5)`, the mean from an exact sum); on
other databases the narrow columns of the requests involved are read and the same arithmetic is done here (the
median as `aggregates.percentile_linear`). reports/tests/test_metrics_sql.py holds the two equal.
"""

from __future__ import annotations

import bisect
import statistics
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connections
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.exceptions import ValidationFailed
from portal.replica import on_replica, read_alias
from provisioning.choices import RunStatus
from provisioning.models import ProvisioningRun
from requests_app.catalogue import deployment_actions
from requests_app.choices import OPEN_STATES, EventKind, LinkKind, Priority, RequestType
from requests_app.models import RequestEvent, RequestLink
from sla import conditions
from sla.choices import Clock, Measure

from .aggregates import percentile_linear
from .models import FOREVER, WORK_STATES, StateSpan
from .periods import Week, timezone_parse, week_containing
from .selectors.queries import _Scope, _scope, report_snapshot
from .selectors.weekly import _labels, _order

if TYPE_CHECKING:
    from portal.models import User

MAX_WINDOW_DAYS = 366
DEFAULT_WINDOW_DAYS = 28
TREND_WEEKS = 12
# A deployment "fails" when a production issue is filed in its environment within this long after it resolved.
INCIDENT_PRIORITIES = (Priority.P0, Priority.P1)
CHANGE_TYPES = (RequestType.RELEASE, RequestType.DEPLOYMENT_SUPPORT)
METRIC_DIMENSIONS = ("priority", "vendor", "environment", "request_type")
_DIMENSION_FIELDS = {
    "priority": "priority",
    "vendor": "vendor_id",
    "environment": "environment_id",
    "request_type": "request_type",
}


# --- the window ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """`first` to `last` (both included) as instants in `tz`."""

    first: date
    last: date
    tz: str

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=zoneinfo.ZoneInfo(self.tz))

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=zoneinfo.ZoneInfo(self.tz))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def weeks(self) -> float:
        return self.days / 7


def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValidationFailed(
            "Invalid date.", fields={name: f"“{text}” is not a date; write it like 2026-11-16."}
        ) from exc


def window_parse(first: str | None, last: str | None, *, tz: str, today: date) -> Window:
    """The window of `from`..`to` (YYYY-MM-DD); missing `to` is today, missing `from` 27 days before `to`.

    A 400 for a malformed date, `from` after `to`, or a window longer than 366 days."""
    end_day = _date(last, "to") if last else today
    start_day = _date(first, "from") if first else end_day - timedelta(days=DEFAULT_WINDOW_DAYS - 1)
    if start_day > end_day:
        raise ValidationFailed("Invalid range.", fields={"from": "“From” must be on or before “to”."})
    if (end_day - start_day).days + 1 > MAX_WINDOW_DAYS:
        raise ValidationFailed("Range too long.", fields={"to": f"The range is at most {MAX_WINDOW_DAYS} days."})
    if start_day.year < 2 or end_day.year > 9998:
        raise ValidationFailed("Invalid range.", fields={"from": "Dates run from year 2 to 9998."})
    return Window(start_day, end_day, tz)


# --- the figures -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Duration:
    """Mean and median in hours (one decimal) over `count` requests; both null when `count` is 0."""

    mean_hours: float | None
    median_hours: float | None
    count: int


def duration_of(seconds: Iterable[float]) -> Duration:
    """The mean and the median (`percentile_cont(0.5)`: the middle value, or the mean of the middle two)."""
    values = list(seconds)
    if not values:
        return Duration(None, None, 0)
    median = percentile_linear(values, 0.5) or 0.0
    return Duration(round(statistics.fmean(values) / 3600, 1), round(median / 3600, 1), len(values))


@dataclass(frozen=True)
class Incident:
    """One production issue's timestamps (as stored) and the outcome of its two SLA clocks."""

    priority: str
    vendor_id: int | None
    environment_id: int
    request_type: str
    created_at: datetime
    responded_at: datetime | None
    resolved_at: datetime | None
    detected_at: datetime | None
    # True: met in time; False: breached (met or ended late, or running past due); None: not decided yet.
    response_met: bool | None
    resolution_met: bool | None


def mtta(incidents: Iterable[Incident]) -> Duration:
    """Mean time to acknowledge: filed (`created_at`) → first pick-up (`responded_at`, set once by the first
    `pick_up` and kept through reassignments and reopens), over the production issues picked up."""
    return duration_of((i.responded_at - i.created_at).total_seconds() for i in incidents if i.responded_at)


def mttr(incidents: Iterable[Incident]) -> Duration:
    """Mean time to resolve (DORA's time to restore): filed → resolved (`resolved_at`; a reopened issue not yet
    resolved again has none and does not count), over the production issues resolved."""
    return duration_of((i.resolved_at - i.created_at).total_seconds() for i in incidents if i.resolved_at)


def mttd(incidents: Iterable[Incident]) -> Duration:
    """Mean time to detect: detected (`detected_at`, the monitoring's start of the alert) → filed, over the
    production issues that carry a detection time (the Alertmanager intake sets it; hand-filed issues have none)."""
    return duration_of((i.created_at - i.detected_at).total_seconds() for i in incidents if i.detected_at)


@dataclass(frozen=True)
class Attainment:
    """Incident SLA attainment: of the P0/P1 production issues whose clocks are decided, the share (percent, two
    decimals) whose SLA response *and* resolution clocks were both met in time.

    Met: both clocks met, neither breached. Missed: either clock breached (met or ended late, or running past its
    due time now). Still undecided (a clock running within its due time, paused, or missing): counted in
    `pending`, not in the share. `target` is PORTICO_INCIDENT_SLA_TARGET; `target_met` is share ≥ target (null
    when nothing is decided)."""

    met: int
    missed: int
    pending: int
    percent: float | None
    target: float
    target_met: bool | None


def attainment(incidents: Iterable[Incident], *, target: float) -> Attainment:
    met = missed = pending = 0
    for incident in incidents:
        if incident.priority not in INCIDENT_PRIORITIES:
            continue
        if incident.response_met is False or incident.resolution_met is False:
            missed += 1
        elif incident.response_met and incident.resolution_met:
            met += 1
        else:
            pending += 1
    percent = round(100 * met / (met + missed), 2) if met + missed else None
    return Attainment(met, missed, pending, percent, target, None if percent is None else percent >= target)


@dataclass(frozen=True)
class Change:
    """One deployment: a Release or Deployment Support request, deployed at `deployed_at`.

    Deployed by automation: the first successful run of a deploying catalogue action (a Jenkins job or a GitLab
    pipeline, `Action.deploys`; not a dry run) on the request; `deployed_at` is that run's `finished_at`. A run that
    failed and then succeeded on a retry, or failed and was followed by a successful run, is one deployment, at the
    success. Runs of other actions (a Kubernetes namespace, access grants, a new GitLab project) deploy nothing.
    Deployed by hand: a request with no such successful run; `deployed_at` is its resolution (`resolved_at`)."""

    environment_id: int
    created_at: datetime
    deployed_at: datetime
    automated: bool
    followed_by_incident: bool


@dataclass(frozen=True)
class Dora:
    """The four DORA keys, from Release and Deployment Support requests and their Jenkins/GitLab runs.

    - A deployment is such a request whose deploy time falls in the window: the finish of its first successful
      Jenkins job or GitLab pipeline run (`from_runs`), or, for a request with no successful run of those, its
      resolution (`manual`: deployed by hand, or finished by hand after the automation failed). One request is at
      most one deployment, however many runs it had.
    - `deployment_frequency`: deployments ÷ weeks in the window, two decimals.
    - `lead_time`: filed → deployed (the successful run's finish, or the resolution for a manual deployment).
    - `change_failure_rate`: the share (percent, two decimals) of those deployments that a production issue is linked
      to as "caused by" (a `causes` link from the deployment to the issue, made on either request's page or the
      API). Null without deployments.
    - `time_to_restore`: MTTR (filed → resolved) of every production issue filed in the window and resolved, whether
      or not it is linked to a deployment (the same figure as MTTR).
    """

    deployments: int
    from_runs: int
    manual: int
    deployment_frequency: float
    lead_time: Duration
    failed_deployments: int
    change_failure_rate: float | None
    time_to_restore: Duration


@dataclass(frozen=True)
class StateTime:
    """Hours requests spent in one state within the window: the total over `requests` requests, and the median per
    request (`percentile_cont(0.5)`), one decimal; both null when no request spent time in it."""

    requests: int
    total_hours: float | None
    median_hours: float | None


def state_time_of(seconds: Iterable[float]) -> StateTime:
    values = [value for value in seconds if value > 0]
    if not values:
        return StateTime(0, None, None)
    return StateTime(len(values), round(sum(values) / 3600, 1), round((percentile_linear(values, 0.5) or 0) / 3600, 1))


NO_TIME = StateTime(0, None, None)


@dataclass(frozen=True)
class EngineerLoad:
    """One person's load in the window, on requests in scope (any type).

    - `picked_up` / `resolved`: timeline `pick_up` / `resolve` events they wrote in the window, in total and per
      week of the window (two decimals).
    - `open_assigned`: requests assigned to them now (`assignee`) that are open now (not resolved, closed,
      rejected or cancelled), whenever filed.
    - `in_progress`, `waiting_on_requester`, `blocked`: for the requests assigned to them now, the time each spent
      in that state inside the window (up to now, if the window runs on), from the timeline's state changes: the
      total hours, and the median hours per request that spent any of it there (stored spans, reports/spans.py).
    """

    username: str
    name: str
    picked_up: int
    resolved: int
    picked_up_per_week: float
    resolved_per_week: float
    open_assigned: int = 0
    in_progress: StateTime = NO_TIME
    waiting_on_requester: StateTime = NO_TIME
    blocked: StateTime = NO_TIME


@dataclass(frozen=True)
class TrendWeek:
    """One ISO week of the 12 up to the week holding `to`: MTTA and MTTR of the production issues filed that week,
    and the deployments (`Change`) deployed that week."""

    week: str
    mtta: Duration
    mttr: Duration
    deployments: int


@dataclass(frozen=True)
class MetricSlice:
    key: str
    label: str
    mtta: Duration
    mttr: Duration
    mttd: Duration


@dataclass
class DeliveryMetrics:
    """Every delivery figure for one window and scope."""

    date_from: date
    date_to: date
    timezone: str
    start: datetime
    end: datetime
    generated_at: datetime
    filters: dict[str, str]
    incidents: int
    mtta: Duration
    mttr: Duration
    mttd: Duration
    breakdowns: dict[str, list[MetricSlice]]
    attainment: Attainment
    dora: Dora
    load: list[EngineerLoad]
    trend: list[TrendWeek] = field(default_factory=list)


# --- the queries (a fixed number, whatever the data size) ------------------------------------------------------
def _clock_outcome(prefix: str, now: datetime) -> dict[str, Any]:
    return {
        f"{prefix}_met": Q(**{f"{prefix}__met_at__isnull": False, f"{prefix}__breached": False}),
        f"{prefix}_missed": conditions.breached(now, prefix=f"{prefix}__"),
    }


def _incidents_query(scope: _Scope, start: datetime, end: datetime, now: datetime) -> QuerySet[Any]:
    """The production issues in scope filed in [start, end): their dimensions, timestamps and SLA clocks' outcomes
    (`<clock>_met`, `<clock>_missed`)."""
    clock = {
        name: FilteredRelation("clocks", condition=Q(clocks__clock=Clock.SLA, clocks__measure=measure))
        for name, measure in (("response_clock", Measure.RESPONSE), ("resolution_clock", Measure.RESOLUTION))
    }
    flags = {
        name: ExpressionWrapper(q, output_field=BooleanField())
        for prefix in clock
        for name, q in _clock_outcome(prefix, now).items()
    }
    return (
        scope.requests.filter(request_type=RequestType.PRODUCTION_ISSUE, created_at__gte=start, created_at__lt=end)
        .annotate(**clock)
        .order_by()
        .values(*_DIMENSION_FIELDS.values(), "created_at", "responded_at", "resolved_at", "detected_at", **flags)
    )


def _incidents(scope: _Scope, start: datetime, end: datetime, now: datetime) -> list[Incident]:
    """The production issues in scope filed in [start, end), with their SLA clocks' outcomes."""
    rows = _incidents_query(scope, start, end, now)

    def outcome(row: Mapping[str, Any], prefix: str) -> bool | None:
        if row[f"{prefix}_missed"]:
            return False
        return True if row[f"{prefix}_met"] else None

    return [
        Incident(
            priority=row["priority"],
            vendor_id=row["vendor_id"],
            environment_id=row["environment_id"],
            request_type=row["request_type"],
            created_at=row["created_at"],
            responded_at=row["responded_at"],
            resolved_at=row["resolved_at"],
            detected_at=row["detected_at"],
            response_met=outcome(row, "response_clock"),
            resolution_met=outcome(row, "resolution_clock"),
        )
        for row in rows
    ]


def _changes_query(scope: _Scope, start: datetime, end: datetime, *, failures: bool = True) -> QuerySet[Any]:
    """The candidates for a deployment in [start, end): the union of the Release and Deployment Support requests in
    scope resolved in the range and those with a deploying run finished in it (each side index-driven), with each
    one's first successful deploying run (`run_finished_at`) and whether a production issue is linked to it as
    caused by it (`failed`)."""
    deploying = ProvisioningRun.objects.filter(
        status=RunStatus.SUCCEEDED, action__in=deployment_actions(), dry_run=False, finished_at__isnull=False
    )
    changes = scope.requests.filter(request_type__in=CHANGE_TYPES)
    annotations: dict[str, Any] = {
        "run_finished_at": Subquery(
            deploying.filter(service_request_id=OuterRef("pk")).order_by("finished_at", "pk").values("finished_at")[:1]
        )
    }
    if failures:
        annotations["failed"] = Exists(
            RequestLink.objects.filter(
                source_id=OuterRef("pk"), kind=LinkKind.CAUSES, target__request_type=RequestType.PRODUCTION_ISSUE
            )
        )
    columns = ("pk", "environment_id", "created_at", "resolved_at", *annotations)
    resolved = changes.filter(resolved_at__gte=start, resolved_at__lt=end)
    deployed = changes.filter(
        pk__in=deploying.filter(finished_at__gte=start, finished_at__lt=end).values("service_request_id")
    )
    return (
        resolved.annotate(**annotations)
        .order_by()
        .values(*columns)
        .union(deployed.annotate(**annotations).order_by().values(*columns))
    )


def _changes(scope: _Scope, start: datetime, end: datetime, *, failures: bool = True) -> list[Change]:
    """The deployments (`Change`) in scope deployed in [start, end), each with whether a production issue is linked
    to it as caused by it: one query (`_changes_query`); the deploy time is picked here."""
    rows = _changes_query(scope, start, end, failures=failures)
    out = []
    for row in rows:
        deployed_at = row["run_finished_at"] or row["resolved_at"]
        if deployed_at is not None and start <= deployed_at < end:
            out.append(
                Change(
                    environment_id=row["environment_id"],
                    created_at=row["created_at"],
                    deployed_at=deployed_at,
                    automated=row["run_finished_at"] is not None,
                    followed_by_incident=bool(row.get("failed", False)),
                )
            )
    return out


PERSON = ("username", "first_name", "last_name")


def _person(row: Mapping[str, Any], prefix: str) -> tuple[str, str]:
    username = row[f"{prefix}username"]
    return username, f"{row[f'{prefix}first_name']} {row[f'{prefix}last_name']}".strip() or username


def _open_assigned(scope: _Scope) -> dict[tuple[str, str], int]:
    """Open requests in scope per assignee, now: one grouped query."""
    rows = (
        scope.requests.filter(state__in=OPEN_STATES, assignee__isnull=False)
        .order_by()
        .values("assignee__username", "assignee__first_name", "assignee__last_name")
        .annotate(n=Count("pk"))
    )
    return {_person(row, "assignee__"): row["n"] for row in rows}


def _scope_filters(scope: _Scope) -> dict[str, Any]:
    # The vendor is the span's own column (the request's, kept with it): the organisation's and a vendor lead's
    # figures read no request row; other filters join the request.
    return {
        (name if name == "vendor_id" else f"service_request__{name}"): value for name, value in scope.filters.items()
    }


def _spans_in(scope: _Scope, window: Window, bound: datetime) -> QuerySet[StateSpan]:
    """The working-state spans in scope that overlap [start, bound), of requests assigned to someone now."""
    return (
        StateSpan.objects.alias(until=Coalesce("ended_at", Value(FOREVER)))  # the index `state_span_work_end`
        .filter(
            until__gt=window.start,
            state__in=WORK_STATES,
            started_at__lt=bound,
            assignee__isnull=False,
            **_scope_filters(scope),
        )
        .order_by()
    )


def _state_times_sql(
    scope: _Scope, window: Window, bound: datetime, connection: Any, out: dict[tuple[str, str], dict[str, StateTime]]
) -> None:
    """`_state_times` in one statement, from each request × working state's first span (`state_until`,
    `state_seconds`: reports/models.py), read from the index `metrics_span_state_total` (reports 0010) alone.

    A request whose spans in the state all lie inside [start, bound) spent its stored total there; one whose spans
    cross an edge (or one still open) has its spans in the state summed, clipped to the window, as before — a few
    thousand a year, against ~370,000 totals read as stored. The medians: each person and state's totals gathered
    (a hash on a few dozen groups, not a sort of them all) and `percentile_cont(0.5)` over each group's array."""
    first = StateSpan.objects.filter(
        state_until__gt=window.start,
        state__in=WORK_STATES,
        started_at__lt=bound,
        assignee__isnull=False,
        **_scope_filters(scope),
    ).order_by()
    inner, params = first.values(
        "assignee_id", "service_request_id", "state", "started_at", "state_until", "state_seconds"
    ).query.sql_with_params()
    quote = connection.ops.quote_name
    spans_table = quote(StateSpan._meta.db_table)
    user_table = quote(StateSpan._meta.get_field("assignee").related_model._meta.db_table)
    # date_part is float, as the sums always were here; the stored totals are EXTRACT's exact sums as floats.
    clipped = "date_part('epoch', LEAST(COALESCE(s.ended_at, %s), %s) - GREATEST(s.started_at, %s))"
    sql = (
        "WITH totals AS (SELECT f.assignee_id, f.state, "  # noqa: S608 — the ORM's query and models' tables; values are parameters
        "CASE WHEN f.started_at >= %s AND f.state_until <= %s THEN f.state_seconds "
        f"ELSE (SELECT SUM({clipped}) FROM {spans_table} s WHERE s.service_request_id = f.service_request_id "
        "AND s.state = f.state AND s.started_at < %s AND COALESCE(s.ended_at, %s) > %s) END AS seconds "
        # OFFSET 0: computed once a row (the filter below would otherwise repeat the CASE and its subquery).
        f"FROM ({inner}) f OFFSET 0), "
        # Under half a second in a state is an artefact of two changes in one instant, not time spent there.
        "per_person AS (SELECT assignee_id, state, COUNT(*) AS n, SUM(seconds) AS total, array_agg(seconds) AS vals "
        "FROM totals WHERE seconds >= 0.5 GROUP BY assignee_id, state) "
        "SELECT u.username, u.first_name, u.last_name, p.state, p.n, p.total, "
        "(SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM unnest(p.vals) v) "
        f"FROM per_person p JOIN {user_table} u ON u.id = p.assignee_id"
    )
    values = [window.start, bound, bound, bound, window.start, bound, FOREVER, window.start, *params]
    with connection.cursor() as cursor:
        # A year's ~370,000 totals gathered in arrays fit in 64 MB; LOCAL: the report's transaction only. The
        # planner underestimates the totals read from a partial index (a tenth of them) and would sort them all to
        # group them; hashing them into a few dozen arrays is what it would pick knowing their number.
        cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL enable_sort = off")
        cursor.execute(sql, values)
        rows = cursor.fetchall()
        cursor.execute("SET LOCAL enable_sort = on")  # the default, for what else runs in the transaction
        for username, first_name, last_name, state, count, total, median in rows:
            person = _person({"username": username, "first_name": first_name, "last_name": last_name}, "")
            out[person][state] = StateTime(count, round(total / 3600, 1), round(median / 3600, 1))


def _state_times(scope: _Scope, window: Window, now: datetime) -> dict[tuple[str, str], dict[str, StateTime]]:
    """Per assignee and working state, the seconds each of their requests spent in it within the window.

    A request's time in a state is the sum of its stored spans in it (`StateSpan`, reports/spans.py) clipped to
    [start, bound) — bound: the window's end, or now if sooner — credited to the request's current assignee, as the
    figure always has been. A request spends time in a working state inside the window only if it was open then,
    so it is open now or was resolved or closed since: the requests the event-summing computation this replaced
    read (reports/tests/test_state_spans.py holds the two equal). On PostgreSQL the sums and the medians are one
    statement returning a row per person and state (`_state_times_sql`); other databases read the spans (one query)
    and do the same sums here."""
    bound = min(window.end, max(now, window.start))
    out: dict[tuple[str, str], dict[str, StateTime]] = defaultdict(dict)
    if _in_sql():
        _state_times_sql(scope, window, bound, connections[read_alias()], out)
        return out
    rows = _spans_in(scope, window, bound).values_list(
        "service_request_id", "state", "started_at", "ended_at", *(f"assignee__{name}" for name in PERSON)
    )
    seconds: defaultdict[tuple[int, str], float] = defaultdict(float)
    people: dict[int, tuple[str, str]] = {}
    for pk, state, started, ended, *person in rows:
        seconds[(pk, state)] += (min(ended or bound, bound) - max(started, window.start)).total_seconds()
        people[pk] = _person(dict(zip(PERSON, person, strict=True)), "")
    per_person: dict[tuple[tuple[str, str], str], list[float]] = defaultdict(list)
    for (pk, state), value in seconds.items():
        if value >= 0.5:
            per_person[(people[pk], state)].append(value)
    for (person, state), values in per_person.items():
        out[person][state] = state_time_of(values)
    return out


def _load(scope: _Scope, window: Window, now: datetime) -> list[EngineerLoad]:
    """Pick-ups and resolutions per person from the timeline (one grouped query), open requests assigned to each
    (one), and the time their requests spent in each working state (one)."""
    rows = (
        RequestEvent.objects.filter(
            scope.related(),
            kind__in=(EventKind.PICK_UP, EventKind.RESOLVE),
            created_at__gte=window.start,
            created_at__lt=window.end,
            actor__isnull=False,
        )
        .order_by()
        .values("actor__username", "actor__first_name", "actor__last_name")
        .annotate(
            # Counting `kind` (never null), not the id: the index `metrics_event_pickup_resolve` (reports 0009)
            # carries it, so the year's events are read from the index alone.
            picked_up=Count("kind", filter=Q(kind=EventKind.PICK_UP)),
            resolved=Count("kind", filter=Q(kind=EventKind.RESOLVE)),
        )
    )
    events = {_person(row, "actor__"): (row["picked_up"], row["resolved"]) for row in rows}
    assigned = _open_assigned(scope)
    times = _state_times(scope, window, now)
    out = []
    for person in {*events, *assigned, *times}:
        picked_up, resolved = events.get(person, (0, 0))
        states = times.get(person, {})
        out.append(
            EngineerLoad(
                username=person[0],
                name=person[1],
                picked_up=picked_up,
                resolved=resolved,
                picked_up_per_week=round(picked_up / window.weeks, 2),
                resolved_per_week=round(resolved / window.weeks, 2),
                open_assigned=assigned.get(person, 0),
                **{state: states.get(state, NO_TIME) for state in WORK_STATES},
            )
        )
    return sorted(out, key=lambda load: (-load.picked_up - load.resolved, -load.open_assigned, load.name.lower()))


def _bucketer(weeks: list[Week]) -> Callable[[datetime], int | None]:
    """The index of the week holding an instant (None outside them): a bisection over the weeks' starts, computed
    once (a year's incidents and deployments pass through it)."""
    starts = [week.start for week in weeks]
    end = weeks[-1].end

    def bucket(instant: datetime) -> int | None:
        if instant < starts[0] or instant >= end:
            return None
        return bisect.bisect_right(starts, instant) - 1

    return bucket


def _trend_weeks(window: Window) -> list[Week]:
    last = week_containing(window.end - timedelta(seconds=1), tz=window.tz)
    return [last.shifted(offset) for offset in range(-(TREND_WEEKS - 1), 1)]


# --- the aggregates: in SQL on PostgreSQL, from the rows here elsewhere ----------------------------------------
# Both ways give the same figures (reports/tests/test_metrics_sql.py compares them on random data): the same
# per-row seconds (EXTRACT's exact epoch as a float, what `timedelta.total_seconds()` gives), the median as
# `percentile_cont(0.5)` (`percentile_linear` here), the mean as the sum over the count, rounded here.
def _in_sql() -> bool:
    """Whether the figures are aggregated by PostgreSQL (one statement per section, a row per group) rather than
    from every row read here (SQLite)."""
    return connections[read_alias()].vendor == "postgresql"


def _duration(count: int, total: Any, median: float | None) -> Duration:
    """A `Duration` from SQL's count, exact sum (numeric) and `percentile_cont(0.5)` of the seconds."""
    if not count:
        return Duration(None, None, 0)
    return Duration(round(float(total) / count / 3600, 1), round((median or 0.0) / 3600, 1), count)


@dataclass(frozen=True)
class _IncidentGroup:
    count: int
    mtta: Duration
    mttr: Duration
    mttd: Duration


NO_INCIDENTS = _IncidentGroup(0, Duration(None, None, 0), Duration(None, None, 0), Duration(None, None, 0))
WINDOW: tuple[str, Any] = ("window", None)  # the group of every production issue filed in the window


@dataclass
class _IncidentFigures:
    """The production issues' durations per group — WINDOW, (dimension, key) for the window's breakdowns, ("week",
    i) for the trend's weeks (a missing group: no issue) — and the window's attainment."""

    groups: dict[tuple[str, Any], _IncidentGroup]
    attainment: Attainment


def _incident_group(incidents: list[Incident]) -> _IncidentGroup:
    return _IncidentGroup(len(incidents), mtta(incidents), mttr(incidents), mttd(incidents))


def _incident_figures_rows(
    scope: _Scope, window: Window, weeks: list[Week], now: datetime, *, target: float
) -> _IncidentFigures:
    """From every production issue's row (one read over the window and the trend's weeks together)."""
    first, last = min(window.start, weeks[0].start), max(window.end, weeks[-1].end)
    every_incident = _incidents(scope, first, last, now)
    start, end = window.start, window.end  # properties that build a datetime each time: once, not per row
    incidents = [i for i in every_incident if start <= i.created_at < end]
    groups: dict[tuple[str, Any], _IncidentGroup] = {WINDOW: _incident_group(incidents)}
    for dimension in METRIC_DIMENSIONS:
        by_key: dict[Any, list[Incident]] = defaultdict(list)
        for incident in incidents:
            by_key[getattr(incident, _DIMENSION_FIELDS[dimension])].append(incident)
        groups |= {(dimension, key): _incident_group(group) for key, group in by_key.items()}
    bucket = _bucketer(weeks)
    by_week: dict[int, list[Incident]] = defaultdict(list)
    for incident in every_incident:
        index = bucket(incident.created_at)
        if index is not None:
            by_week[index].append(incident)
    groups |= {("week", index): _incident_group(group) for index, group in by_week.items()}
    return _IncidentFigures(groups, attainment(incidents, target=target))


def _incident_figures_sql(
    scope: _Scope, window: Window, weeks: list[Week], now: datetime, *, target: float
) -> _IncidentFigures:
    """One statement: the production issues of the window and the trend's weeks (`_incidents`' query), grouped by
    GROUPING SETS into the window, each breakdown's keys and each week, with each group's counts, exact sums and
    medians of the three durations, and the window's attainment counts."""
    first, last = min(window.start, weeks[0].start), max(window.end, weeks[-1].end)
    inner, params = _incidents_query(scope, first, last, now).query.sql_with_params()
    columns = [_DIMENSION_FIELDS[dimension] for dimension in METRIC_DIMENSIONS]
    durations = {
        "a": "responded_at - created_at",  # MTTA
        "r": "resolved_at - created_at",  # MTTR
        "d": "created_at - detected_at",  # MTTD
    }
    missed = "(COALESCE(response_clock_missed, false) OR COALESCE(resolution_clock_missed, false))"
    met = "(COALESCE(response_clock_met, false) AND COALESCE(resolution_clock_met, false))"
    sql = (
        f"WITH x AS (SELECT {', '.join(columns)}, priority = ANY(%s) AS counted, "  # noqa: S608 — the ORM's query; values are parameters
        + "".join(f"EXTRACT(epoch FROM {expression}) AS {name}, " for name, expression in durations.items())
        + f"{missed} AS missed, {met} AS met, created_at >= %s AND created_at < %s AS in_window, "
        f"width_bucket(created_at, %s::timestamptz[]) AS week FROM ({inner}) i) "
        f"SELECT GROUPING({', '.join(columns)}, week), {', '.join(columns)}, week, in_window, COUNT(*), "
        + "".join(
            f"COUNT({name}), SUM({name}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {name}::float8), "
            for name in durations
        )
        + "COUNT(*) FILTER (WHERE counted AND missed), COUNT(*) FILTER (WHERE counted AND NOT missed AND met), "
        "COUNT(*) FILTER (WHERE counted) FROM x GROUP BY GROUPING SETS ((in_window), "
        + "".join(f"(in_window, {column}), " for column in columns)
        + "(week))"
    )
    boundaries = [week.start for week in weeks] + [weeks[-1].end]
    groups: dict[tuple[str, Any], _IncidentGroup] = {}
    counts = (0, 0, 0)
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql, [list(INCIDENT_PRIORITIES), window.start, window.end, boundaries, *params])
        for row in cursor.fetchall():
            grouping, keys, week, in_window = row[0], row[1:5], row[5], row[6]
            count, (na, ta, ma, nr, tr, mr, nd, td, md), (missed_n, met_n, counted_n) = row[7], row[8:17], row[17:20]
            group = _IncidentGroup(count, _duration(na, ta, ma), _duration(nr, tr, mr), _duration(nd, td, md))
            if grouping & 1 == 0:  # by week
                if 1 <= week <= len(weeks):
                    groups[("week", week - 1)] = group
                continue
            if not in_window:
                continue
            ungrouped = grouping >> 1  # a bit per dimension, the first the highest: 1 when not grouped by it
            if ungrouped == 0b1111:
                groups[WINDOW] = group
                counts = (met_n, missed_n, counted_n - met_n - missed_n)
                continue
            for position, dimension in enumerate(METRIC_DIMENSIONS):
                if not ungrouped & (1 << (len(METRIC_DIMENSIONS) - 1 - position)):
                    groups[(dimension, keys[position])] = group
    met_n, missed_n, pending = counts
    percent = round(100 * met_n / (met_n + missed_n), 2) if met_n + missed_n else None
    return _IncidentFigures(
        groups,
        Attainment(met_n, missed_n, pending, percent, target, None if percent is None else percent >= target),
    )


@dataclass(frozen=True)
class _ChangeFigures:
    """The window's deployments (`Change`) counted, their lead time, and the deployments of each trend week."""

    deployments: int
    from_runs: int
    failed: int
    lead_time: Duration
    per_week: list[int]


def _change_figures_rows(scope: _Scope, window: Window, weeks: list[Week]) -> _ChangeFigures:
    """From every deployment's row (one read over the window and the trend's weeks together)."""
    first, last = min(window.start, weeks[0].start), max(window.end, weeks[-1].end)
    every_change = _changes(scope, first, last)
    start, end = window.start, window.end
    changes = [c for c in every_change if start <= c.deployed_at < end]
    bucket = _bucketer(weeks)
    per_week = [0] * len(weeks)
    for change in every_change:
        index = bucket(change.deployed_at)
        if index is not None:
            per_week[index] += 1
    return _ChangeFigures(
        deployments=len(changes),
        from_runs=sum(change.automated for change in changes),
        failed=sum(change.followed_by_incident for change in changes),
        lead_time=duration_of((c.deployed_at - c.created_at).total_seconds() for c in changes),
        per_week=per_week,
    )


def _change_figures_sql(scope: _Scope, window: Window, weeks: list[Week]) -> _ChangeFigures:
    """One statement: `_changes`' union of candidates, each one's deploy time picked in SQL, grouped into the
    window (counts, the lead time's exact sum and median) and the trend's weeks (counts)."""
    first, last = min(window.start, weeks[0].start), max(window.end, weeks[-1].end)
    inner, params = _changes_query(scope, first, last).query.sql_with_params()
    sql = (
        "WITH c AS (SELECT run_finished_at, failed, created_at, "  # noqa: S608 — the ORM's query; values are parameters
        "COALESCE(run_finished_at, resolved_at) AS deployed_at "
        f"FROM ({inner}) u), d AS (SELECT *, deployed_at >= %s AND deployed_at < %s AS in_window, "
        "width_bucket(deployed_at, %s::timestamptz[]) AS week, EXTRACT(epoch FROM deployed_at - created_at) AS lead "
        # No WHERE on the deploy time: PostgreSQL would push it into both sides of the union, evaluating each
        # request's first-run subquery twice more; a candidate deployed outside the range is in no group counted.
        "FROM c) "
        "SELECT GROUPING(week), week, in_window, COUNT(*), COUNT(run_finished_at), COUNT(*) FILTER (WHERE failed), "
        "SUM(lead), percentile_cont(0.5) WITHIN GROUP (ORDER BY lead::float8) "
        "FROM d GROUP BY GROUPING SETS ((in_window), (week))"
    )
    boundaries = [week.start for week in weeks] + [weeks[-1].end]
    per_week = [0] * len(weeks)
    figures = (0, 0, 0, Duration(None, None, 0))
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql, [*params, window.start, window.end, boundaries])
        for grouping, week, in_window, count, from_runs, failed, total, median in cursor.fetchall():
            if grouping == 0:
                if week is not None and 1 <= week <= len(weeks):
                    per_week[week - 1] = count
            elif in_window:
                figures = (count, from_runs, failed, _duration(count, total, median))
    deployments, from_runs, failed, lead_time = figures
    return _ChangeFigures(deployments, from_runs, failed, lead_time, per_week)


def _breakdowns(groups: Mapping[tuple[str, Any], _IncidentGroup]) -> dict[str, list[MetricSlice]]:
    labels = _labels()
    out: dict[str, list[MetricSlice]] = {}
    for dimension in METRIC_DIMENSIONS:
        keys = [key for name, key in groups if name == dimension]
        rows = []
        for key in _order(dimension, keys, labels[dimension]):
            slug, label = labels[dimension].get(key, (str(key), str(key)))
            group = groups[(dimension, key)]
            rows.append(MetricSlice(key=slug, label=label, mtta=group.mtta, mttr=group.mttr, mttd=group.mttd))
        out[dimension] = rows
    return out


@on_replica
@report_snapshot
def delivery_metrics(
    *,
    user: User | None,
    date_from: str | None = None,
    date_to: str | None = None,
    vendor: str | None = None,
    environment: str | None = None,
    priority: str | None = None,
    request_type: str | None = None,
    tz: str | None = None,
    now: datetime | None = None,
) -> DeliveryMetrics:
    """Every delivery figure for the window `date_from`..`date_to` as `user` may see it (`None`: the system)."""
    now = now or timezone.now()
    tz = timezone_parse(tz or settings.PORTICO_REPORT_TIMEZONE)
    window = window_parse(date_from, date_to, tz=tz, today=now.astimezone(zoneinfo.ZoneInfo(tz)).date())
    scope = _scope(user, vendor=vendor, environment=environment, priority=priority, request_type=request_type)
    weeks = _trend_weeks(window)
    target = settings.PORTICO_INCIDENT_SLA_TARGET
    # One read of the incidents and one of the changes cover the window and the trend's weeks together.
    if _in_sql():
        issues = _incident_figures_sql(scope, window, weeks, now, target=target)
        deployed = _change_figures_sql(scope, window, weeks)
    else:
        issues = _incident_figures_rows(scope, window, weeks, now, target=target)
        deployed = _change_figures_rows(scope, window, weeks)
    overall = issues.groups.get(WINDOW, NO_INCIDENTS)
    return DeliveryMetrics(
        date_from=window.first,
        date_to=window.last,
        timezone=tz,
        start=window.start,
        end=window.end,
        generated_at=now,
        filters={
            "vendor": scope.vendor.slug if scope.vendor else "",
            "environment": environment or "",
            "priority": priority or "",
            "type": request_type or "",
        },
        incidents=overall.count,
        mtta=overall.mtta,
        mttr=overall.mttr,
        mttd=overall.mttd,
        breakdowns=_breakdowns(issues.groups),
        attainment=issues.attainment,
        dora=Dora(
            deployments=deployed.deployments,
            from_runs=deployed.from_runs,
            manual=deployed.deployments - deployed.from_runs,
            deployment_frequency=round(deployed.deployments / window.weeks, 2),
            lead_time=deployed.lead_time,
            failed_deployments=deployed.failed,
            change_failure_rate=round(100 * deployed.failed / deployed.deployments, 2)
            if deployed.deployments
            else None,
            time_to_restore=overall.mttr,
        ),
        load=_load(scope, window, now),
        trend=[
            TrendWeek(
                week.label,
                issues.groups.get(("week", i), NO_INCIDENTS).mtta,
                issues.groups.get(("week", i), NO_INCIDENTS).mttr,
                deployed.per_week[i],
            )
            for i, week in enumerate(weeks)
        ],
    )


FIGURE_DEFINITIONS: list[tuple[str, Callable[..., Any] | type]] = [
    ("MTTA", mtta),
    ("MTTR", mttr),
    ("MTTD", mttd),
    ("Incident SLA attainment", Attainment),
    ("Deployment", Change),
    ("DORA keys", Dora),
    ("Time in a state", StateTime),
    ("Engineer load", EngineerLoad),
    ("12-week trend", TrendWeek),
]
