"""Delivery metrics (issue 15): every figure of the metrics page and `/api/v1/reports/metrics/` is defined here.

Scope: the weekly report's (`selectors.queries._scope`): requests `visible_to(user)` with the vendor, environment,
priority and type filters; a vendor lead is held to their own vendor, requesters and engineers get 403.

The window is `from` 00:00 to the day after `to` 00:00 on the report timezone's wall clock (PORTICO_REPORT_TIMEZONE),
at most 366 days. "Weeks in the window" is its length in days ÷ 7. Durations are wall-clock hours, rounded to one
decimal; a mean or median over no request is null.

Each figure is a fixed number of queries whatever the data size: the narrow columns of the requests involved, then
arithmetic here (means and the median as PostgreSQL's `percentile_cont(0.5)`, `aggregates.percentile_linear`).
"""

from __future__ import annotations

import statistics
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, FilteredRelation, OuterRef, Q
from django.utils import timezone

from portal.exceptions import ValidationFailed
from portal.replica import on_replica
from requests_app.choices import EventKind, LinkKind, Priority, RequestType
from requests_app.models import RequestEvent, RequestLink
from sla import conditions
from sla.choices import Clock, Measure

from .aggregates import percentile_linear
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
    """A Release or Deployment Support request resolved in the window (a deployment)."""

    environment_id: int
    created_at: datetime
    resolved_at: datetime
    followed_by_incident: bool


@dataclass(frozen=True)
class Dora:
    """The four DORA keys.

    - `deployment_frequency`: deployments (Release and Deployment Support requests resolved in the window) ÷ weeks in
      the window, two decimals.
    - `lead_time`: filed → resolved of those deployments.
    - `change_failure_rate`: the share (percent, two decimals) of those deployments that a production issue is linked
      to as "caused by" (a `causes` link from the deployment to the issue, made on either request's page or the
      API). Null without deployments.
    - `time_to_restore`: MTTR of the production issues filed in the window.
    """

    deployments: int
    deployment_frequency: float
    lead_time: Duration
    failed_deployments: int
    change_failure_rate: float | None
    time_to_restore: Duration


def dora(changes: list[Change], incidents: list[Incident], window: Window) -> Dora:
    failed = sum(change.followed_by_incident for change in changes)
    return Dora(
        deployments=len(changes),
        deployment_frequency=round(len(changes) / window.weeks, 2),
        lead_time=duration_of((c.resolved_at - c.created_at).total_seconds() for c in changes),
        failed_deployments=failed,
        change_failure_rate=round(100 * failed / len(changes), 2) if changes else None,
        time_to_restore=mttr(incidents),
    )


@dataclass(frozen=True)
class EngineerLoad:
    """One person's pick-ups and resolutions in the window (timeline `pick_up` / `resolve` events they wrote on
    requests in scope, any type), in total and per week of the window (two decimals)."""

    username: str
    name: str
    picked_up: int
    resolved: int
    picked_up_per_week: float
    resolved_per_week: float


@dataclass(frozen=True)
class TrendWeek:
    """One ISO week of the 12 up to the week holding `to`: MTTA and MTTR of the production issues filed that week,
    and the deployments resolved that week."""

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


def _incidents(scope: _Scope, start: datetime, end: datetime, now: datetime) -> list[Incident]:
    """The production issues in scope filed in [start, end), with their SLA clocks' outcomes."""
    clock = {
        name: FilteredRelation("clocks", condition=Q(clocks__clock=Clock.SLA, clocks__measure=measure))
        for name, measure in (("response_clock", Measure.RESPONSE), ("resolution_clock", Measure.RESOLUTION))
    }
    flags = {
        name: ExpressionWrapper(q, output_field=BooleanField())
        for prefix in clock
        for name, q in _clock_outcome(prefix, now).items()
    }
    rows = (
        scope.requests.filter(request_type=RequestType.PRODUCTION_ISSUE, created_at__gte=start, created_at__lt=end)
        .annotate(**clock)
        .order_by()
        .values(*_DIMENSION_FIELDS.values(), "created_at", "responded_at", "resolved_at", "detected_at", **flags)
    )

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


def _changes(scope: _Scope, start: datetime, end: datetime, *, failures: bool = True) -> list[Change]:
    """Release and Deployment Support requests in scope resolved in [start, end), each with whether a production
    issue is linked to it as caused by it."""
    requests = scope.requests.filter(request_type__in=CHANGE_TYPES, resolved_at__gte=start, resolved_at__lt=end)
    annotations: dict[str, Any] = {}
    if failures:
        annotations["failed"] = Exists(
            RequestLink.objects.filter(
                source_id=OuterRef("pk"), kind=LinkKind.CAUSES, target__request_type=RequestType.PRODUCTION_ISSUE
            )
        )
    rows = (
        requests.annotate(**annotations).order_by().values("environment_id", "created_at", "resolved_at", *annotations)
    )
    return [
        Change(row["environment_id"], row["created_at"], row["resolved_at"], bool(row.get("failed", False)))
        for row in rows
    ]


def _load(scope: _Scope, window: Window) -> list[EngineerLoad]:
    """Pick-ups and resolutions per person from the timeline, in one grouped query."""
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
            picked_up=Count("pk", filter=Q(kind=EventKind.PICK_UP)),
            resolved=Count("pk", filter=Q(kind=EventKind.RESOLVE)),
        )
    )
    out = [
        EngineerLoad(
            username=row["actor__username"],
            name=f"{row['actor__first_name']} {row['actor__last_name']}".strip() or row["actor__username"],
            picked_up=row["picked_up"],
            resolved=row["resolved"],
            picked_up_per_week=round(row["picked_up"] / window.weeks, 2),
            resolved_per_week=round(row["resolved"] / window.weeks, 2),
        )
        for row in rows
    ]
    return sorted(out, key=lambda load: (-load.picked_up - load.resolved, load.name.lower()))


def _bucket(weeks: list[Week], instant: datetime) -> int | None:
    for index, week in enumerate(weeks):
        if week.start <= instant < week.end:
            return index
    return None


def _trend(scope: _Scope, window: Window, now: datetime) -> list[TrendWeek]:
    """The 12 weeks up to the week holding the window's last day: two queries over the whole span."""
    last = week_containing(window.end - timedelta(seconds=1), tz=window.tz)
    weeks = [last.shifted(offset) for offset in range(-(TREND_WEEKS - 1), 1)]
    by_week: dict[int, list[Incident]] = defaultdict(list)
    for incident in _incidents(scope, weeks[0].start, weeks[-1].end, now):
        index = _bucket(weeks, incident.created_at)
        if index is not None:
            by_week[index].append(incident)
    deployments: dict[int, int] = defaultdict(int)
    for change in _changes(scope, weeks[0].start, weeks[-1].end, failures=False):
        index = _bucket(weeks, change.resolved_at)
        if index is not None:
            deployments[index] += 1
    return [TrendWeek(week.label, mtta(by_week[i]), mttr(by_week[i]), deployments[i]) for i, week in enumerate(weeks)]


def _breakdowns(incidents: list[Incident]) -> dict[str, list[MetricSlice]]:
    labels = _labels()
    out: dict[str, list[MetricSlice]] = {}
    for dimension in METRIC_DIMENSIONS:
        groups: dict[Any, list[Incident]] = defaultdict(list)
        for incident in incidents:
            groups[getattr(incident, _DIMENSION_FIELDS[dimension])].append(incident)
        rows = []
        for key in _order(dimension, groups, labels[dimension]):
            slug, label = labels[dimension].get(key, (str(key), str(key)))
            group = groups[key]
            rows.append(MetricSlice(key=slug, label=label, mtta=mtta(group), mttr=mttr(group), mttd=mttd(group)))
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
    incidents = _incidents(scope, window.start, window.end, now)
    changes = _changes(scope, window.start, window.end)
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
        incidents=len(incidents),
        mtta=mtta(incidents),
        mttr=mttr(incidents),
        mttd=mttd(incidents),
        breakdowns=_breakdowns(incidents),
        attainment=attainment(incidents, target=settings.PORTICO_INCIDENT_SLA_TARGET),
        dora=dora(changes, incidents, window),
        load=_load(scope, window),
        trend=_trend(scope, window, now),
    )


FIGURE_DEFINITIONS: list[tuple[str, Callable[..., Any] | type]] = [
    ("MTTA", mtta),
    ("MTTR", mttr),
    ("MTTD", mttd),
    ("Incident SLA attainment", Attainment),
    ("DORA keys", Dora),
    ("Engineer load", EngineerLoad),
    ("12-week trend", TrendWeek),
]
