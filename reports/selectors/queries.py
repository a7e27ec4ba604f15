"""The report's queries: each aggregates in the database and returns grouped rows, never request rows."""

from __future__ import annotations

import functools
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from django.db import connections, transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, NullIf
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from portal.exceptions import Forbidden, ValidationFailed
from portal.replica import read_alias
from requests_app.catalogue import request_type_choices
from requests_app.choices import EventKind, Priority, RequestState, VendorRole
from requests_app.models import Environment, RequestEvent, ServiceRequest, Vendor
from requests_app.permissions import sees_every_vendors_report, sees_reports
from requests_app.querysets import ServiceRequestQuerySet
from sla import conditions
from sla.choices import Clock, LedgerKind, Measure
from sla.models import ClockLedgerEntry, RequestClock

from ..aggregates import percentile_linear
from ..models import FOREVER, StateSpan
from ..periods import Week
from .types import (
    AGE_BUCKETS,
    AGE_OVER,
    BACKLOG_STATES,
    BREACH_LIST_LIMIT,
    CLOCK_COUNTS,
    DIMENSIONS,
    FRACTIONS,
    KEYS,
    NO_VENDOR,
    PERCENTILES,
    REASON_KINDS,
    REQUEST_FIELDS,
    Breach,
    TractionWeek,
)

if TYPE_CHECKING:
    from portal.models import User


P = ParamSpec("P")
R = TypeVar("R")


def report_snapshot(function: Callable[P, R]) -> Callable[P, R]:
    """Run a report in one transaction: one snapshot for every figure, and no JIT on PostgreSQL.

    JIT compilation costs ~90 ms per query here, more than these index-driven aggregates take to run. The
    snapshot (REPEATABLE READ, when the report opens the transaction) keeps the figures consistent with each
    other while requests keep moving."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        connection = connections[read_alias()]  # the replica when reading one (portal/replica.py)
        outermost = not connection.in_atomic_block
        with transaction.atomic(using=connection.alias):
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    if outermost:
                        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    cursor.execute("SET LOCAL jit = off")
            return function(*args, **kwargs)

    return wrapper


@dataclass
class _Scope:
    """The requests a report covers, and the same restriction expressed for tables that point at requests.

    `related()` is exact because every report scope is "everything" (staff, the system) or "one vendor's
    requests" (a vendor lead), both of which the filters alone describe."""

    requests: ServiceRequestQuerySet
    filters: dict[str, Any]
    vendor: Vendor | None
    # The filters as the report shows them (slugs and codes): vendor, environment, priority, type.
    names: dict[str, str] = field(default_factory=dict)

    def related(self, prefix: str = "service_request__") -> Q:
        return Q(**{f"{prefix}{name}": value for name, value in self.filters.items()})


def _period(field_name: str, start: datetime, end: datetime) -> Q:
    return Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end})


def _pct(met: int, breached: int) -> float | None:
    return round(100 * met / (met + breached), 2) if met + breached else None


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 2) if denominator else None


def _seconds(value: timedelta | float | None) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return round(seconds, 3)


# --- scope ----------------------------------------------------------------------------------------------
def _scope(
    user: User | None, *, vendor: str | None, environment: str | None, priority: str | None, request_type: str | None
) -> _Scope:
    """Who may see which report, and the filters parsed; `user=None` is the system (the Monday e-mail)."""
    requests = ServiceRequest.objects.all()
    own_vendor = False
    if user is not None:
        if not user.is_authenticated:
            raise Forbidden("Sign in to see reports.")
        if not sees_reports(user):
            raise Forbidden("Reports are for the program manager, eGov DevOps and vendor leads.")
        if not sees_every_vendors_report(user):
            # A vendor lead's report is always their own vendor's, whatever the query string says.
            vendor = None
            own_vendor = True
        requests = ServiceRequest.objects.visible_to(user)
    filters: dict[str, Any] = {}
    vendor_obj = None
    if own_vendor and user is not None:  # own_vendor is only set for a signed-in vendor lead
        vendor_obj = user.vendor
        filters["vendor_id"] = user.vendor_id
    elif vendor:
        vendor_obj = Vendor.objects.filter(slug=vendor).first()
        if vendor_obj is None:
            raise ValidationFailed("Unknown vendor.", fields={"vendor": f"No vendor “{vendor}”."})
        filters["vendor_id"] = vendor_obj.pk
    if environment:
        environment_id = Environment.objects.filter(code=environment).values_list("pk", flat=True).first()
        if environment_id is None:
            raise ValidationFailed("Unknown environment.", fields={"environment": f"No environment “{environment}”."})
        filters["environment_id"] = environment_id
    if priority:
        if priority not in Priority.values:
            raise ValidationFailed("Unknown priority.", fields={"priority": f"“{priority}” is not one of P0–P4."})
        filters["priority"] = priority
    if request_type:
        if request_type not in dict(request_type_choices()):
            raise ValidationFailed("Unknown type.", fields={"type": f"“{request_type}” is not a request type."})
        filters["request_type"] = request_type
    # visible_to(lead) holds every request of the lead's vendor, so with that vendor forced the scope is exactly
    # the vendor's requests: tables pointing at requests need the filters only, not an IN over visible_to.
    names = {
        "vendor": vendor_obj.slug if vendor_obj else "",
        "environment": environment or "",
        "priority": priority or "",
        "type": request_type or "",
    }
    return _Scope(requests=requests.filter(**filters), filters=filters, vendor=vendor_obj, names=names)


def _scope_of_filters(filters: dict[str, Any]) -> _Scope:
    """The system's scope for stored filters (ids, as `_Scope.filters` holds them); LookupError when the vendor or
    environment they name is gone."""
    vendor_obj = None
    environment = ""
    if "vendor_id" in filters:
        vendor_obj = Vendor.objects.filter(pk=filters["vendor_id"]).first()
        if vendor_obj is None:
            raise LookupError(f"vendor {filters['vendor_id']}")
    if "environment_id" in filters:
        code = Environment.objects.filter(pk=filters["environment_id"]).values_list("code", flat=True).first()
        if code is None:
            raise LookupError(f"environment {filters['environment_id']}")
        environment = code
    names = {
        "vendor": vendor_obj.slug if vendor_obj else "",
        "environment": environment,
        "priority": filters.get("priority", ""),
        "type": filters.get("request_type", ""),
    }
    return _Scope(
        requests=ServiceRequest.objects.filter(**filters), filters=dict(filters), vendor=vendor_obj, names=names
    )


def _clocks(scope: _Scope) -> QuerySet:
    """Clocks of the scope's requests; with a vendor filter, OLA clocks only of that vendor. A clock counts under the
    priority it runs or ended under (its own `priority`), not the one its request has now."""
    by_request = {name: value for name, value in scope.filters.items() if name != "priority"}
    clocks = RequestClock.objects.filter(**{f"service_request__{name}": value for name, value in by_request.items()})
    if "priority" in scope.filters:
        priority = scope.filters["priority"]
        clocks = clocks.filter(Q(priority=priority) | Q(priority="", service_request__priority=priority))
    if "vendor_id" in scope.filters:
        clocks = clocks.filter(Q(clock=Clock.SLA) | Q(vendor_id=scope.filters["vendor_id"]))
    return clocks


def _request_keys(prefix: str = "") -> dict[str, Combinable]:
    return {KEYS[d]: F(f"{prefix}{REQUEST_FIELDS[d]}") for d in DIMENSIONS}


# --- rolling grouped rows up (rows are groups of the four dimensions, never requests) ------------------
def _rollup(rows: Iterable[Mapping[str, Any]], measures: Iterable[str]) -> dict[str, dict[Any, Counter]]:
    """Sum grouped rows into the whole scope ("all" → None) and each dimension's values."""
    measures = tuple(measures)
    out: dict[str, dict[Any, Counter]] = {"all": defaultdict(Counter), **{d: defaultdict(Counter) for d in DIMENSIONS}}
    for row in rows:
        values = {m: row.get(m) or 0 for m in measures}
        out["all"][None].update(values)
        for dimension in DIMENSIONS:
            out[dimension][row[KEYS[dimension]]].update(values)
    return out


# A measure of `_rollup_grouped`: the grouped rows' column it sums, and optionally only where another column of the
# row holds a value (the backlog's age buckets and states).
Measured = tuple[str, tuple[str, str] | None]


def _rollup_grouped(
    queryset: QuerySet, measures: Mapping[str, Measured], into: dict[str, dict[Any, Counter]] | None = None
) -> dict[str, dict[Any, Counter]]:
    """`_rollup` of a grouped values() queryset, summed by the database: GROUPING SETS over the whole scope and each
    dimension, so Python reads one row per slice (a few dozen), not one per group (thousands for the backlog).
    Added into `into` when given (a figure counted by two queries). SQLite has no GROUPING SETS: summed here."""
    out = _slices() if into is None else into
    if connections[read_alias()].vendor != "postgresql":
        return _rollup_grouped_python(queryset, measures, out)
    inner, params = queryset.query.sql_with_params()
    columns = [f'"{KEYS[d]}"' for d in DIMENSIONS]
    sums, sum_params = [], []
    for column, when in measures.values():
        if when is None:
            sums.append(f'CAST(SUM("{column}") AS bigint)')
        else:
            sums.append(f'CAST(SUM("{column}") FILTER (WHERE "{when[0]}" = %s) AS bigint)')
            sum_params.append(when[1])
    select = ", ".join([*columns, *[f"GROUPING({c})" for c in columns], *sums])
    sets = ", ".join(["()", *[f"({c})" for c in columns]])
    sql = f"SELECT {select} FROM ({inner}) AS grouped GROUP BY GROUPING SETS ({sets})"  # noqa: S608 — fixed names; values are parameters
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql, [*sum_params, *params])
        rows = cursor.fetchall()
    width = len(DIMENSIONS)
    for row in rows:
        keys, grouped, values = row[:width], row[width : 2 * width], row[2 * width :]
        # GROUPING() is 0 for the column a row is grouped by; all 1 is the whole scope.
        dimension, key = next(((d, keys[i]) for i, d in enumerate(DIMENSIONS) if grouped[i] == 0), ("all", None))
        out[dimension][key].update({name: value or 0 for name, value in zip(measures, values, strict=True)})
    return out


def _rollup_grouped_python(
    queryset: QuerySet, measures: Mapping[str, Measured], out: dict[str, dict[Any, Counter]]
) -> dict[str, dict[Any, Counter]]:
    rows = []
    for row in queryset:
        counts = {
            name: row[column] if not when or row[when[0]] == when[1] else 0 for name, (column, when) in measures.items()
        }
        rows.append({KEYS[d]: row[KEYS[d]] for d in DIMENSIONS} | counts)
    for dimension, slices in _rollup(rows, measures).items():
        for key, counts in slices.items():
            out[dimension][key].update(counts)
    return out


def _slices() -> dict[str, dict[Any, Counter]]:
    """Empty figures of the whole scope ("all" → None) and of each dimension's values."""
    return {"all": defaultdict(Counter), **{d: defaultdict(Counter) for d in DIMENSIONS}}


def _sums(*names: str) -> dict[str, Measured]:
    return {name: (name, None) for name in names}


# --- the queries ----------------------------------------------------------------------------------------
def _flow_rows(scope: _Scope, start: datetime, end: datetime) -> QuerySet:
    """Created, triaged, resolved, closed, rejected, cancelled per group, from the requests' timestamps."""
    in_period = {name: _period(name, start, end) for name in ("created_at", "triaged_at", "resolved_at", "closed_at")}
    touched = in_period["created_at"] | in_period["triaged_at"] | in_period["resolved_at"] | in_period["closed_at"]
    touched |= _period("responded_at", start, end)  # so the groups cover the pick-up population too
    return (
        scope.requests.filter(touched)
        .order_by()
        .values(**_request_keys())
        .annotate(
            created=Count("pk", filter=in_period["created_at"]),
            triaged=Count("pk", filter=in_period["triaged_at"]),
            resolved=Count("pk", filter=in_period["resolved_at"]),
            closed=Count("pk", filter=in_period["closed_at"] & Q(state=RequestState.CLOSED)),
            rejected=Count("pk", filter=in_period["closed_at"] & Q(state=RequestState.REJECTED)),
            cancelled=Count("pk", filter=in_period["closed_at"] & Q(state=RequestState.CANCELLED)),
        )
    )


def _reopen_rows(scope: _Scope, start: datetime, end: datetime) -> QuerySet:
    """Requests with a reopen event in the period, per group."""
    return (
        RequestEvent.objects.filter(scope.related(), _period("created_at", start, end), kind=EventKind.REOPEN)
        .order_by()
        .values(**_request_keys("service_request__"))
        .annotate(reopened=Count("service_request", distinct=True))
    )


def _rating_rows(scope: _Scope, start: datetime, end: datetime) -> QuerySet:
    """Ratings given in the period (the requester confirming, CSAT): how many, and their sum, per group."""
    return (
        scope.requests.filter(_period("rated_at", start, end), rating__isnull=False)
        .order_by()
        .values(**_request_keys())
        .annotate(csat_count=Count("pk"), csat_sum=Sum("rating"))
    )


def _average(total: int, count: int) -> float | None:
    return round(total / count, 2) if count else None


def _met(start: datetime, end: datetime) -> Q:
    return _period("met_at", start, end) & Q(breached=False)


def _breached(start: datetime, end: datetime, now: datetime) -> Q:
    """Breached in the week it fell due (and only once that moment has passed)."""
    return _period("due_at", start, min(end, now)) & (Q(breached=True) | conditions.running())


def _clock_measures(start: datetime, end: datetime, now: datetime, suffix: str = "") -> dict[str, Count]:
    met, breached = _met(start, end), _breached(start, end, now)
    sla_response, sla_resolution = (
        Q(clock=Clock.SLA, measure=Measure.RESPONSE),
        Q(clock=Clock.SLA, measure=Measure.RESOLUTION),
    )
    ola = Q(clock=Clock.OLA)
    # Counting a column the report's clock indexes cover (not the id) lets PostgreSQL count from the index alone.
    return {
        f"sla_response_met{suffix}": Count("clock", filter=sla_response & met),
        f"sla_response_breached{suffix}": Count("clock", filter=sla_response & breached),
        f"sla_resolution_met{suffix}": Count("clock", filter=sla_resolution & met),
        f"sla_resolution_breached{suffix}": Count("clock", filter=sla_resolution & breached),
        f"ola_met{suffix}": Count("clock", filter=ola & met),
        f"ola_breached{suffix}": Count("clock", filter=ola & breached),
    }


def _clock_priority() -> Coalesce:
    """The priority a clock runs or ended under; the request's for a clock stored without one."""
    return Coalesce(NullIf(F("priority"), Value("")), F("service_request__priority"))


def _clock_rows(scope: _Scope, start: datetime, end: datetime, now: datetime) -> list[tuple[QuerySet, tuple[str, ...]]]:
    """Met and breached clocks per group, each query with the measures it counts; an OLA clock counts for its own
    vendor.

    Two queries, each read from its clock index alone (met in time in the week; breached in it), instead of one over
    both, which has to visit every clock's row. A clock in both is in each once, counted by the measures whose
    condition that query holds: met by the first, breached by the second. Each reads only the clocks it counts, so
    only those are joined to their request: of the 71,000 clocks due in a week on 1,000,000 requests, 28,000
    breached (bench/RESULTS.md, "Findings, 2026-12-06 (session 14)")."""
    keys = _request_keys("service_request__")
    keys[KEYS["vendor"]] = Case(When(clock=Clock.OLA, then=F("vendor_id")), default=F("service_request__vendor_id"))
    keys[KEYS["priority"]] = _clock_priority()
    measures = _clock_measures(start, end, now)
    ranges = {"met": _met(start, end), "breached": _breached(start, end, now)}
    queries = []
    for kind, in_range in ranges.items():
        counted = {name: count for name, count in measures.items() if name.endswith(f"_{kind}")}
        queries.append((_clocks(scope).filter(in_range).order_by().values(**keys).annotate(**counted), tuple(counted)))
    return queries


def _durations() -> dict[str, Any]:
    return {
        "pick_up_wall": ExpressionWrapper(F("responded_at") - F("created_at"), output_field=DurationField()),
        "pick_up_working": F("response_clock__elapsed"),
        "resolve_wall": ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField()),
        "resolve_working": F("resolution_clock__elapsed"),
    }


def _population(metric: str, start: datetime, end: datetime) -> Q:
    stamp, kind = PERCENTILES[metric]
    q = _period(stamp, start, end)
    if kind == "working":
        clock = "response_clock" if stamp == "responded_at" else "resolution_clock"
        q &= Q(**{f"{clock}__met_at__isnull": False})
    return q


def _percentile_queryset(scope: _Scope, start: datetime, end: datetime) -> QuerySet:
    return (
        scope.requests.filter(_period("responded_at", start, end) | _period("resolved_at", start, end))
        .annotate(
            response_clock=FilteredRelation(
                "clocks", condition=Q(clocks__clock=Clock.SLA, clocks__measure=Measure.RESPONSE)
            ),
            resolution_clock=FilteredRelation(
                "clocks", condition=Q(clocks__clock=Clock.SLA, clocks__measure=Measure.RESOLUTION)
            ),
        )
        .order_by()
    )


def _percentiles(
    scope: _Scope, start: datetime, end: datetime, dimensions: Iterable[str | None]
) -> dict[tuple[str | None, Any], dict[str, float | None]]:
    """Median and p90 of the four durations, overall (dimension None) and per value of each dimension given.

    One scan for every slice: the samples as a subquery, grouped by GROUPING SETS (one set per dimension), each
    slice with eight FILTERed `percentile_cont` aggregates. (A query per dimension read the week five times,
    ~130 ms each on 1,000,000 requests.)"""
    queryset = _percentile_queryset(scope, start, end)
    durations = _durations()
    dimensions = list(dimensions)
    connection = connections[read_alias()]
    if connection.vendor != "postgresql":
        return _percentiles_python(queryset, start, end, dimensions, durations)
    keyed = [d for d in dimensions if d is not None]
    samples = queryset.values(
        **{f"k_{d}": F(REQUEST_FIELDS[d]) for d in keyed},
        **{
            f"in_{metric}": ExpressionWrapper(_population(metric, start, end), output_field=BooleanField())
            for metric in PERCENTILES
        },
        **{f"d_{metric}": durations[metric] for metric in PERCENTILES},
    )
    inner, params = samples.query.sql_with_params()
    names = [f"{metric}_{suffix}" for metric in PERCENTILES for suffix in FRACTIONS]
    aggregates = [
        f'percentile_cont({fraction}) WITHIN GROUP (ORDER BY "d_{metric}") FILTER (WHERE "in_{metric}")'
        for metric in PERCENTILES
        for fraction in FRACTIONS.values()
    ]
    columns = [f'"k_{d}"' for d in keyed]
    groupings = [f"GROUPING({column})" for column in columns]
    sets = (["()"] if None in dimensions else []) + [f"({column})" for column in columns]
    select = ", ".join([*columns, *groupings, *aggregates])
    sql = f"SELECT {select} FROM ({inner}) AS samples GROUP BY GROUPING SETS ({', '.join(sets)})"  # noqa: S608 — fixed names; values are parameters
    results: dict[tuple[str | None, Any], dict[str, float | None]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for row in rows:
        keys, grouped, values = row[: len(keyed)], row[len(keyed) : 2 * len(keyed)], row[2 * len(keyed) :]
        # GROUPING() is 0 for the column a row is grouped by; all 1 (or no dimensions at all) is the overall row.
        slice_key = next(((d, keys[i]) for i, d in enumerate(keyed) if grouped[i] == 0), (None, None))
        results[slice_key] = {name: _seconds(value) for name, value in zip(names, values, strict=True)}
    return results


def _percentiles_python(
    queryset: QuerySet,
    start: datetime,
    end: datetime,
    dimensions: list[str | None],
    durations: dict[str, Any],
) -> dict[tuple[str | None, Any], dict[str, float | None]]:
    """SQLite has no percentile_cont: fetch the duration columns and interpolate exactly as PostgreSQL does."""
    rows = queryset.values(
        *REQUEST_FIELDS.values(),
        "responded_at",
        "resolved_at",
        "response_clock__met_at",
        "resolution_clock__met_at",
        **durations,
    )
    samples: dict[tuple[str | None, Any], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        for metric, (stamp, kind) in PERCENTILES.items():
            if row[stamp] is None or not start <= row[stamp] < end or row[metric] is None:
                continue
            clock = "response_clock" if stamp == "responded_at" else "resolution_clock"
            if kind == "working" and row[f"{clock}__met_at"] is None:
                continue
            for dimension in dimensions:
                key = None if dimension is None else row[REQUEST_FIELDS[dimension]]
                samples[(dimension, key)][metric].append(row[metric].total_seconds())
    results: dict[tuple[str | None, Any], dict[str, float | None]] = {}
    for slice_key, by_metric in samples.items():
        results[slice_key] = {
            f"{metric}_{suffix}": _seconds(percentile_linear(by_metric.get(metric, []), fraction))
            for metric in PERCENTILES
            for suffix, fraction in FRACTIONS.items()
        }
    return results


def _age(at: datetime, prefix: str = "") -> Case:
    """A request's age bucket at `at`. Ages are elapsed time (a day is 24 h); `at` in UTC, because Python subtracts
    on the wall clock within a zone."""
    return Case(
        *[
            When(**{f"{prefix}created_at__gt": at - timedelta(days=days)}, then=Value(key))
            for key, _, days in AGE_BUCKETS
        ],
        default=Value(AGE_OVER[0]),
        output_field=CharField(),
    )


def _covering(at: datetime) -> Q:
    """The state span a request was in at `at`: started by then and not yet ended (a request's spans follow each
    other without overlapping, so at most one; a change at that very instant has already happened).

    "Not yet ended" is written as the partial index `report_span_open_at` (reports 0012) has it, a still-running
    span ending at FOREVER: as `ended_at > at OR ended_at IS NULL` the planner could use no index and read every
    span of a million requests (0.35 s for one week's backlog)."""
    return Q(started_at__lte=at) & Q(GreaterThan(Coalesce("ended_at", Value(FOREVER)), at))


def _backlog_spans(scope: _Scope, at: datetime) -> list[QuerySet]:
    """The backlog at an instant already past, as it was then: the state spans (reports/spans.py) that cover `at`
    of the scope's requests filed before it, where that state is open or resolved — each request in the state its
    timeline gives it at that moment.

    Only requests of `backlog_at(at)` can be in it (a request closed by then has `closed_at` before it, unless a
    reopen since cleared it), so the spans are joined to those, in two disjoint halves as `_backlog_rows` reads
    them at now: the requests still open (their partial index, reports/migrations/0005) and those closed since."""
    created = Q(scope.related(), service_request__created_at__lt=at)
    spans = StateSpan.objects.filter(_covering(at), created, state__in=BACKLOG_STATES).order_by()
    return [
        spans.filter(service_request__closed_at__isnull=True),
        spans.filter(service_request__closed_at__gt=at),
    ]


def _backlog_rows(scope: _Scope, at: datetime, now: datetime) -> list[QuerySet]:
    """The backlog at `at` per group, age bucket and state at that moment (`age`, `state_at`).

    At `now` (the current week): the requests not closed, rejected or cancelled, in their current state (the lists'
    `state_group=backlog`). At an instant already past (a finished week's end): the requests whose state then was
    open or resolved, in that state, from their state spans; so a change after it leaves it as it was."""
    at = at.astimezone(UTC)
    if at < now:
        keys = {**_request_keys("service_request__"), "age": _age(at, "service_request__"), "state_at": F("state")}
        return [half.values(**keys).annotate(backlog=Count("*")) for half in _backlog_spans(scope, at)]
    # `backlog_at(at)` in its two disjoint halves: the ones still open (closed_at IS NULL: their state is their
    # current one), counted from their own partial index alone (reports/migrations/0005), and those closed since
    # `at` (none, unless `now` is given before the data's last change). Written out rather than filtered from
    # `backlog_at`, whose OR would leave the planner guessing a few dozen rows and sorting thousands to group them.
    covering = StateSpan.objects.filter(_covering(at), service_request=OuterRef("pk"))
    last_state = covering.order_by("-started_at").values("state")[:1]
    age = _age(at)
    created = scope.requests.filter(created_at__lt=at).order_by()
    still_open = created.filter(closed_at__isnull=True).values(**_request_keys(), age=age, state_at=F("state"))
    closed_since = created.filter(closed_at__gt=at).values(
        **_request_keys(), age=age, state_at=Coalesce(Subquery(last_state), Value(RequestState.SUBMITTED.value))
    )
    return [still_open.annotate(backlog=Count("*")), closed_since.annotate(backlog=Count("*"))]


def _backlog_by_vendor(scope: _Scope, at: datetime, now: datetime) -> dict[Any, int]:
    """The backlog at `at` per vendor, as `_backlog_rows` counts it."""
    at = at.astimezone(UTC)
    if at < now:
        counts: Counter = Counter()
        for half in _backlog_spans(scope, at):
            for row in half.values(request_vendor=F("service_request__vendor_id")).annotate(n=Count("*")):
                counts[row["request_vendor"]] += row["n"]
        return dict(counts)
    rows = scope.requests.backlog_at(at).order_by().values("vendor_id").annotate(n=Count("pk"))
    return {row["vendor_id"]: row["n"] for row in rows}


def _engineers(scope: _Scope) -> dict[int, int]:
    """Active engineers per vendor."""
    from portal.models import User

    users = User.objects.filter(vendor__isnull=False, vendor_role=VendorRole.ENGINEER, is_active=True)
    if "vendor_id" in scope.filters:
        users = users.filter(vendor_id=scope.filters["vendor_id"])
    return {row["vendor_id"]: row["n"] for row in users.order_by().values("vendor_id").annotate(n=Count("pk"))}


def _bandwidth(backlog_by_vendor: dict[Any, int], engineers: dict[int, int]) -> float | None:
    with_vendor = sum(n for vendor_id, n in backlog_by_vendor.items() if vendor_id is not None)
    return _ratio(with_vendor, sum(engineers.values()))


def _traction(scope: _Scope, weeks: list[Week]) -> list[TractionWeek]:
    """Created and resolved per week for the last weeks, in one query (one read of the requests touched: two
    queries grouped by week, each through its timestamp's index, read those rows twice for a vendor's or an
    environment's report, 50–70 ms each on 1,000,000 requests against 56–83 ms for this one)."""
    span = _period("created_at", weeks[0].start, weeks[-1].end) | _period("resolved_at", weeks[0].start, weeks[-1].end)
    aggregates = {}
    for index, week in enumerate(weeks):
        aggregates[f"created_{index}"] = Count("pk", filter=_period("created_at", week.start, week.end))
        aggregates[f"resolved_{index}"] = Count("pk", filter=_period("resolved_at", week.start, week.end))
    totals = scope.requests.filter(span).order_by().aggregate(**aggregates)
    return [
        TractionWeek(week=week.label, created=totals[f"created_{i}"], resolved=totals[f"resolved_{i}"])
        for i, week in enumerate(weeks)
    ]


def _week_index(field_name: str, weeks: list[Week]) -> Case:
    """Which of `weeks` (0 = oldest) an instant falls in; rows are already limited to the whole span."""
    return Case(*[When(**{f"{field_name}__lt": week.end}, then=Value(i)) for i, week in enumerate(weeks)])


def _compliance_trend(scope: _Scope, weeks: list[Week], now: datetime) -> list[dict[str, int]]:
    """Met and breached clocks per week for the last weeks: one query grouped by met week, one by due week."""
    first, last = weeks[0].start, weeks[-1].end
    kinds = {
        "sla_response": Q(clock=Clock.SLA, measure=Measure.RESPONSE),
        "sla_resolution": Q(clock=Clock.SLA, measure=Measure.RESOLUTION),
        "ola": Q(clock=Clock.OLA),
    }
    clocks = _clocks(scope).order_by()
    met = (
        clocks.filter(_met(first, last))
        .values(week=_week_index("met_at", weeks))
        .annotate(**{f"{kind}_met": Count("clock", filter=q) for kind, q in kinds.items()})
    )
    breached = (
        clocks.filter(_breached(first, last, now))
        .values(week=_week_index("due_at", weeks))
        .annotate(**{f"{kind}_breached": Count("clock", filter=q) for kind, q in kinds.items()})
    )
    out = [dict.fromkeys(CLOCK_COUNTS, 0) for _ in weeks]
    for row in [*met, *breached]:  # at most one row per week from each query
        out[row.pop("week")].update(row)
    return out


def _breaches(scope: _Scope, week: Week, now: datetime) -> list[Breach]:
    """The SLA clocks breached in the week, latest first, with the reason last given before each fell due; at most
    BREACH_LIST_LIMIT. How many there are in all is the week's SLA breached counts (`_clock_rows`), which count the
    same clocks: `_clocks(scope)`, `_breached`, the SLA's response and resolution."""
    reason = (
        RequestEvent.objects.filter(
            service_request=OuterRef("service_request"), kind__in=REASON_KINDS, created_at__lte=OuterRef("due_at")
        )
        .exclude(message="")
        .order_by("-created_at", "-pk")
        .values("message")[:1]
    )
    breached = _clocks(scope).filter(_breached(week.start, week.end, now), clock=Clock.SLA)
    rows = (
        breached.annotate(
            settled=Coalesce("met_at", "ended_at"),
            late=ExpressionWrapper(
                Coalesce("met_at", "ended_at", Value(now)) - F("due_at"), output_field=DurationField()
            ),
            reason=Subquery(reason),
            clock_priority=_clock_priority(),
            extended=Exists(
                ClockLedgerEntry.objects.filter(
                    service_request=OuterRef("service_request"),
                    clock=OuterRef("clock"),
                    measure=OuterRef("measure"),
                    kind=LedgerKind.EXTEND,
                )
            ),
        )
        .order_by("-late", "service_request__reference", "measure")
        .values(
            "pk",
            "service_request__reference",
            "service_request__title",
            "service_request__vendor__name",
            "clock_priority",
            "measure",
            "due_at",
            "settled",
            "late",
            "reason",
            "extended",
        )[:BREACH_LIST_LIMIT]
    )
    return [
        Breach(
            reference=row["service_request__reference"] or "",
            title=row["service_request__title"],
            vendor=row["service_request__vendor__name"] or NO_VENDOR,
            priority=row["clock_priority"],
            measure=row["measure"],
            due_at=timezone.localtime(row["due_at"], zoneinfo.ZoneInfo(week.tz)),
            settled_at=timezone.localtime(row["settled"], zoneinfo.ZoneInfo(week.tz)) if row["settled"] else None,
            late_seconds=_seconds(row["late"]) or 0.0,
            reason=row["reason"] or "—",
            extended=row["extended"],
            clock_id=row["pk"],
        )
        for row in rows
    ]


def _breaches_next_due(scope: _Scope, week: Week, now: datetime, listed: int) -> datetime | None:
    """For a cut breach list holding `listed` unsettled breaches: the due time of the next unsettled one, by due time
    (the most late of those left out: every unsettled breach is late by now − due, so the list holds a prefix of
    them), or None when none is left out. A stored copy serves its cut list while that one is still less late than
    the list's least late entry (reports/stored.py)."""
    unsettled = _clocks(scope).filter(
        _breached(week.start, week.end, now), clock=Clock.SLA, met_at__isnull=True, ended_at__isnull=True
    )
    return next(iter(unsettled.order_by("due_at", "pk").values_list("due_at", flat=True)[listed : listed + 1]), None)
