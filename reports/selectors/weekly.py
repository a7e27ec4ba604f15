"""The weekly report: the queries' grouped rows rolled up into figures, breakdowns, trends and breaches."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from portal.replica import on_replica
from requests_app.catalogue import request_type_choices
from requests_app.choices import Priority
from requests_app.models import Environment, Vendor

from ..periods import Week, timezone_parse, week_containing, week_parse
from .incidents import _break_glass, _hypercare, _incident_reviews
from .queries import (
    Measured,
    _average,
    _backlog_by_vendor,
    _backlog_rows,
    _bandwidth,
    _breaches,
    _clock_rows,
    _compliance_trend,
    _engineers,
    _flow_rows,
    _pct,
    _percentiles,
    _rating_rows,
    _ratio,
    _reopen_rows,
    _rollup,
    _rollup_grouped,
    _Scope,
    _scope,
    _slices,
    _sums,
    _traction,
    report_snapshot,
)
from .types import (
    AGE_LABELS,
    BACKLOG_STATES,
    CLOCK_COUNTS,
    DIMENSIONS,
    FIGURES,
    FLOW_COUNTS,
    NO_VENDOR,
    RATING_SUMS,
    TRACTION_WEEKS,
    ComplianceWeek,
    Figures,
    Slice,
    TractionWeek,
    WeeklyReport,
)

if TYPE_CHECKING:
    from portal.models import User


def _figures(
    flows: Counter, clocks: Counter, percentiles: dict[str, float | None], backlog: int, ratings: Counter | None = None
) -> Figures:
    ratings = ratings or Counter()
    figures = Figures(
        **{name: flows.get(name, 0) for name in FLOW_COUNTS}, **{n: clocks.get(n, 0) for n in CLOCK_COUNTS}
    )
    figures.sla_response_compliance = _pct(figures.sla_response_met, figures.sla_response_breached)
    figures.sla_resolution_compliance = _pct(figures.sla_resolution_met, figures.sla_resolution_breached)
    figures.ola_compliance = _pct(figures.ola_met, figures.ola_breached)
    for name, value in percentiles.items():
        setattr(figures, name, value)
    figures.backlog = backlog
    figures.csat_count = ratings.get("csat_count", 0)
    figures.csat_average = _average(ratings.get("csat_sum", 0), figures.csat_count)
    return figures


def _change(current: Figures, previous: Figures) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name in FIGURES:
        now_value, then_value = getattr(current, name), getattr(previous, name)
        out[name] = None if now_value is None or then_value is None else round(now_value - then_value, 3)
    return out


def _labels() -> dict[str, dict[Any, tuple[str, str]]]:
    """(key for URLs and CSV, label) of every dimension value."""
    return {
        "vendor": {pk: (slug, name) for pk, slug, name in Vendor.objects.values_list("pk", "slug", "name")}
        | {None: ("", NO_VENDOR)},
        "environment": {pk: (code, name) for pk, code, name in Environment.objects.values_list("pk", "code", "name")},
        "priority": {value: (value, value) for value in Priority.values},
        "request_type": {value: (value, label) for value, label in request_type_choices()},
    }


def _order(dimension: str, keys: Iterable[Any], labels: dict[Any, tuple[str, str]]) -> list[Any]:
    if dimension in ("priority", "request_type"):
        order = list(labels)
        return sorted(keys, key=lambda k: order.index(k) if k in order else len(order))
    return sorted(keys, key=lambda k: (k is None, labels.get(k, ("", str(k)))[1].lower()))


def report_weekly(
    *,
    user: User | None,
    week: str,
    vendor: str | None = None,
    environment: str | None = None,
    priority: str | None = None,
    request_type: str | None = None,
    tz: str | None = None,
    now: datetime | None = None,
) -> WeeklyReport:
    """The weekly SLA report for `week` ("2026-W47") as `user` may see it; `user=None` is the system's full view.

    A finished week is read from its stored copy (reports/stored.py), computed and stored first when it has none or
    the copy is stale. The current week is computed, and without an explicit `now` a report computed in the last
    PORTICO_REPORT_CACHE_SECONDS for the same scope is served again (its `generated_at` says when). An explicit
    `now` always computes, as of that instant. Either way a computed week takes the previous week's figures and the
    trends' earlier weeks from the previous week's stored copy when it is current, else the trends' weeks up to the
    newest earlier week whose copy is current from that copy (`_earlier_copy`)."""
    tz = timezone_parse(tz or settings.PORTICO_REPORT_TIMEZONE)
    this = week_parse(week, tz=tz)
    # Visibility first: stored weeks and the cache are keyed by the scope's filters, which say everything it covers.
    scope = _scope(user, vendor=vendor, environment=environment, priority=priority, request_type=request_type)
    if now is not None:
        return _report_weekly_read(scope, this, now=now)
    if settings.PORTICO_REPORT_STORED_WEEKS and this.end <= timezone.now():
        from ..stored import report_week_stored  # stored weeks sit above the selectors: they store what these compute

        return report_week_stored(scope, this)
    seconds = settings.PORTICO_REPORT_CACHE_SECONDS
    if not seconds:
        return _report_weekly_read(scope, this, now=timezone.now())
    scope_key = json.dumps([this.label, tz, sorted(scope.filters.items())])
    key = "reports:weekly:" + hashlib.sha256(scope_key.encode()).hexdigest()
    report = cache.get(key)
    if report is None:
        report = _report_weekly_read(scope, this, now=timezone.now())
        cache.set(key, report, seconds)
    return report


def _compliance_week(label: str, counts: Figures | dict[str, int]) -> ComplianceWeek:
    def count(name: str) -> int:
        return counts[name] if isinstance(counts, dict) else getattr(counts, name)

    return ComplianceWeek(
        week=label,
        sla_response_compliance=_pct(count("sla_response_met"), count("sla_response_breached")),
        sla_resolution_compliance=_pct(count("sla_resolution_met"), count("sla_resolution_breached")),
        ola_compliance=_pct(count("ola_met"), count("ola_breached")),
    )


def _earlier_copy(
    scope: _Scope, this: Week, now: datetime, engineers: dict[int, int], labels: dict
) -> WeeklyReport | None:
    """The newest current stored copy of the weeks before this one that the trends cover (over at `now`): its figures
    and trends are then the same whenever they are read, so the week's computation need not count them again —
    all of them when it is the previous week's, else the weeks up to it."""
    if not settings.PORTICO_REPORT_STORED_WEEKS:
        return None
    from ..stored import report_week_copy  # stored weeks sit above the selectors: they store what these compute

    finished = [this.shifted(offset) for offset in range(-(TRACTION_WEEKS - 1), 0)]
    finished = [week for week in finished if week.end <= now]
    if not finished:
        return None
    base = report_week_copy(scope, finished, engineers=engineers, labels=labels)
    if base is None or len(base.traction) != TRACTION_WEEKS or base.traction[-1].week != base.week:
        return None
    return base


def _previous_computed(
    scope: _Scope, this: Week, now: datetime, engineers: dict[int, int], base: WeeklyReport | None
) -> tuple[Figures, list[TractionWeek], list[ComplianceWeek]]:
    """The previous week's figures (overall only: what the headline's "change" compares with), counted afresh, and
    the trends' earlier weeks: those up to `base`'s week (a current copy of an earlier week) from its trends, the
    rest counted. The trends' last point is the week itself, whose counts the caller already has."""
    previous = this.shifted(-1)
    earlier = [this.shifted(offset) for offset in range(-(TRACTION_WEEKS - 1), 0)]
    copied = [w.label for w in earlier].index(base.week) + 1 if base is not None else 0
    counted = earlier[copied:]
    trend_counts = _compliance_trend(scope, counted, now)
    prev_flows = _rollup(_flow_rows(scope, previous.start, previous.end), FLOW_COUNTS)["all"][None]
    prev_flows.update(_rollup(_reopen_rows(scope, previous.start, previous.end), ("reopened",))["all"][None])
    prev_backlog = _backlog_by_vendor(scope, previous.end, now)
    prev = _figures(
        prev_flows,
        Counter(trend_counts[-1]),
        _percentiles(scope, previous.start, previous.end, [None]).get((None, None), {}),
        sum(prev_backlog.values()),
        _rollup(_rating_rows(scope, previous.start, previous.end), RATING_SUMS)["all"][None],
    )
    prev.open_per_engineer = _bandwidth(prev_backlog, engineers)
    traction = _traction(scope, counted)
    trend = [_compliance_week(w.label, c) for w, c in zip(counted, trend_counts, strict=True)]
    if base is not None:
        traction = [*base.traction[-copied:], *traction]
        trend = [*base.compliance_trend[-copied:], *trend]
    return prev, traction, trend


def _report_weekly(scope: _Scope, this: Week, *, now: datetime) -> WeeklyReport:
    """Every figure of the week for the scope, as of `now`; the caller opens the snapshot."""
    tz = this.tz
    previous = this.shifted(-1)
    backlog_at = min(this.end, now)

    flows = _rollup_grouped(
        _flow_rows(scope, this.start, this.end),
        _sums("created", "triaged", "resolved", "closed", "rejected", "cancelled"),
    )
    reopens = _rollup_grouped(_reopen_rows(scope, this.start, this.end), _sums("reopened"))
    clocks = _slices()
    for queryset, measures in _clock_rows(scope, this.start, this.end, now):
        clocks = _rollup_grouped(queryset, _sums(*measures), into=clocks)
    ratings = _rollup_grouped(_rating_rows(scope, this.start, this.end), _sums(*RATING_SUMS))
    backlog_measures: dict[str, Measured] = {
        "backlog": ("backlog", None),
        **{f"age:{k}": ("backlog", ("age", k)) for k in AGE_LABELS},
        **{f"state:{s}": ("backlog", ("state_at", s)) for s in BACKLOG_STATES},
    }
    backlog = _slices()
    for queryset in _backlog_rows(scope, backlog_at, now):
        backlog = _rollup_grouped(queryset, backlog_measures, into=backlog)
    engineers = _engineers(scope)

    labels = _labels()
    keys = {d: set(flows[d]) | set(reopens[d]) | set(clocks[d]) | set(backlog[d]) | set(ratings[d]) for d in DIMENSIONS}
    percentiles = _percentiles(scope, this.start, this.end, [None, *DIMENSIONS])

    def figures_of(dimension: str, key: Any) -> Figures:
        flow = flows[dimension].get(key, Counter()) + reopens[dimension].get(key, Counter())
        figures = _figures(
            flow,
            clocks[dimension].get(key, Counter()),
            percentiles.get((None if dimension == "all" else dimension, key), {}),
            backlog[dimension].get(key, Counter()).get("backlog", 0),
            ratings[dimension].get(key, Counter()),
        )
        if dimension == "vendor" and key is not None:
            figures.open_per_engineer = _ratio(figures.backlog, engineers.get(key, 0))
        return figures

    summary = figures_of("all", None)
    summary.open_per_engineer = _bandwidth({k: c.get("backlog", 0) for k, c in backlog["vendor"].items()}, engineers)
    breakdowns = {}
    for dimension in DIMENSIONS:
        rows = []
        for key in _order(dimension, keys[dimension], labels[dimension]):
            counts = backlog[dimension].get(key, Counter())
            slug, label = labels[dimension].get(key, (str(key), str(key)))
            rows.append(
                Slice(
                    key=slug,
                    label=label,
                    figures=figures_of(dimension, key),
                    backlog_by_age={k: counts.get(f"age:{k}", 0) for k in AGE_LABELS},
                    backlog_by_state={s: counts.get(f"state:{s}", 0) for s in BACKLOG_STATES},
                )
            )
        breakdowns[dimension] = rows

    base = _earlier_copy(scope, this, now, engineers, labels)
    if base is not None and base.week == previous.label:
        # The previous week's copy holds its figures and the trends' earlier weeks (its own, shifted by one).
        prev, traction, compliance_trend = base.summary, base.traction[1:], base.compliance_trend[1:]
    else:
        prev, traction, compliance_trend = _previous_computed(scope, this, now, engineers, base)
    # The week itself is the trends' last point: its figures are counted above, by the same rules.
    traction = [*traction, TractionWeek(week=this.label, created=summary.created, resolved=summary.resolved)]
    compliance_trend = [*compliance_trend, _compliance_week(this.label, summary)]

    all_backlog = backlog["all"].get(None, Counter())
    return WeeklyReport(
        week=this.label,
        previous_week=previous.label,
        timezone=tz,
        start=this.start,
        end=this.end,
        backlog_at=backlog_at,
        generated_at=now,
        filters=dict(scope.names),
        summary=summary,
        previous=prev,
        change=_change(summary, prev),
        backlog_by_age={k: all_backlog.get(f"age:{k}", 0) for k in AGE_LABELS},
        backlog_by_state={s: all_backlog.get(f"state:{s}", 0) for s in BACKLOG_STATES},
        breakdowns=breakdowns,
        traction=traction,
        compliance_trend=compliance_trend,
        breaches=_breaches(scope, this, now),
        breaches_total=summary.sla_response_breached + summary.sla_resolution_breached,
        break_glass=_break_glass(scope, this.start, this.end, now),
        hypercare=_hypercare(scope, this.start, this.end, now),
        incident_reviews=_incident_reviews(scope, this.start, this.end),
        engineers=sum(engineers.values()),
    )


_report_weekly_read = on_replica(report_snapshot(_report_weekly))  # the replica if any, in one snapshot


def report_week_default(*, now: datetime | None = None, tz: str | None = None) -> str:
    """The last complete ISO week in the report timezone: what the program manager reads on Monday."""
    tz = tz or settings.PORTICO_REPORT_TIMEZONE
    return week_containing(now or timezone.now(), tz=tz).shifted(-1).label
