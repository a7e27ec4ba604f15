"""Stored weeks: a finished week's report is computed once per scope and read back, until a change touches it.

The rule: a change restales the stored weeks that end after the earliest instant whose figures it can move
(`report_weeks_restale(since=…)`, in the change's transaction; reports/handlers.py `restale_since` decides
`since`). Work done now (a pick-up, a resolution, an assignment, a comment, a closing …) moves only the weeks from
now on, so every finished week's copy stays current; a change to what a finished week reads *as it is now*
restales every week since the request was filed. Figure by figure, for a finished week (its end before now):

- Counted from instants that are set once, when the thing happens (created, triaged, picked up, resolved, closed /
  rejected / cancelled, rated, a reopen event, a clock met or falling due): work done now lands in the current
  week. Except: a *reopen* takes back the resolution (and closing) of an earlier week, and re-opens the resolution
  clocks; a *confirmation after a reopen* replaces the earlier rating (`rated_at` of another week): both restale
  from the filing.
- Grouped and filtered by the request's *current* vendor, environment, priority and type (every count, the
  backlog, the breaches; a clock by its own priority, else the request's): a change of those restales from the
  filing — a triage (it sets the vendor), a reassignment to another vendor, a priority change, an edit of the
  priority or type. An assignment within the vendor changes none of them.
- Clocks: a clock counts as met in the week of `met_at` (not breached), as breached in the week it fell due if it
  finished late or still runs. A clock met or ended now after its due time is flagged breached: still counted in
  its due week. But a pause stops a clock running past due from counting, and a resume, a stop or an end of a
  clock paused after it fell due makes it count again: a step into or out of waiting / blocked restales from that
  clock's due time (`_held_due`). Re-judged clocks — a policy re-applied or a calendar changed
  (`sla_recomputed`), a due-time extension (`sla_extended`), a priority or needed-by change — restale from the
  filing; so does a working-time percentile's clock (only met clocks count, fixed until re-judged).
- The backlog at the end of the week, by age and state: as of the week's end, from the state spans (the state each
  request's timeline gives it then, reports/spans.py; the spans are re-derived in each state change's transaction),
  not the current state — so a transition now leaves it alone. (At now, for the current week, it is the current
  state: the same requests as the lists' `state_group=backlog`.) Bandwidth divides it by the active engineers.
- The breach list: a breach still unsettled in the copy is re-read by its clock's id when the copy is served
  (met or ended since: settled then; else late until now), so a late pick-up or resolution now needs no restale.
  Its title and vendor are the request's current ones (an edit of the title restales from the filing; a renamed
  vendor is in the labels below); its reason is the last escalation or question before the due time, so only an
  event back-dated before it can change it.
- Anything back-dated (an event written with an earlier `created_at`, a request filed with an earlier creation):
  restales from its own instant; a deleted request restales from its filing (a signal: it leaves no timeline). A
  kind of event not classified in reports/handlers.py restales from the filing, to be safe.
- A cut breach list (more breaches than it holds): unsettled breaches grow later with the clock and may overtake
  its last entries, so the copy keeps the due time of the most late unsettled one it left out and is served only
  while that one is still less late than the least late entry (`_servable`).
- Read at serving time, never stored: how late an unsettled breach is (`_as_of`), the incident sections
  (break-glass grants and their review, hypercare windows, post-incident reviews), and the active engineers
  (bandwidth) and the vendors' and environments' names, compared with the copy's; a difference recomputes.

reports/tests/test_stored_weeks_random.py checks the rule: after random changes of every kind at "now", each
stored copy is either stale or equal to a fresh computation, and ordinary work leaves them current.

A stale or missing copy is computed on the spot and stored (so the answer is never older than the data); the
beat task `report_weeks_refresh` stores the week that just closed for the usual scopes and recomputes stale copies.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import pickle  # our own rows, written only by this module (as Django's cache pickles)
import time
import zoneinfo
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, router
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from portal.compiled import CompiledUpdate
from requests_app.choices import Priority
from requests_app.models import Environment, Vendor
from sla.models import RequestClock

from .models import StoredWeek
from .periods import Week, week_containing, week_parse
from .selectors import types
from .selectors.incidents import _break_glass, _hypercare, _incident_reviews
from .selectors.queries import (
    _breaches_next_due,
    _engineers,
    _Scope,
    _scope_of_filters,
    _seconds,
    report_snapshot,
)
from .selectors.types import Breach, WeeklyReport
from .selectors.weekly import _labels, _report_weekly

logger = logging.getLogger(__name__)


def _schema() -> str:
    """A fingerprint of the report's dataclasses: a copy pickled under another shape is recomputed, not misread."""
    shapes = [
        (cls.__name__, [f.name for f in dataclasses.fields(cls)])
        for cls in (
            types.WeeklyReport,
            types.Figures,
            types.Slice,
            types.TractionWeek,
            types.ComplianceWeek,
            types.Breach,
            types.BreakGlassEntry,
        )
    ]
    return hashlib.sha256(json.dumps(shapes).encode()).hexdigest()[:32]


SCHEMA = _schema()


def scope_key(filters: dict[str, Any]) -> str:
    """The filters as one string: what identifies a scope's stored copy (a vendor lead's and the program manager's
    report filtered to that vendor are the same scope)."""
    return json.dumps(sorted(filters.items()))


def _writers() -> list[int]:
    """The transactions writing to this database right now, besides this one, as full (64-bit) ids (PostgreSQL;
    elsewhere one writer at a time, so none)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.backend_xid::text::bigint, pg_snapshot_xmax(pg_current_snapshot())::text::bigint "
            "FROM pg_stat_activity AS a WHERE a.datname = current_database() "
            "AND a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()"
        )
        rows = cursor.fetchall()
    writers = []
    for xid, xmax in rows:
        # pg_stat_activity shows the 32-bit id: put it in the epoch that brings it nearest the snapshot's xmax.
        full = (xmax >> 32 << 32) + xid
        writers.append(full - (1 << 32) if full - xmax >= 1 << 31 else full)
    return writers


def _still_running(writers: list[int]) -> bool:
    """Whether this transaction's snapshot misses any of `writers` (still in progress when it was taken)."""
    if not writers or connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM unnest(%s::bigint[]) AS w "
            "WHERE NOT pg_visible_in_snapshot(w::text::xid8, pg_current_snapshot()))",
            [writers],
        )
        return bool(cursor.fetchone()[0])


@report_snapshot
def _computed(
    scope: _Scope, week: Week, now: datetime, writers: list[int]
) -> tuple[WeeklyReport, dict[int, int], dict, datetime | None, bool]:
    """The week's report, the live inputs it was computed with, the due time of the strongest unsettled breach left
    out of a cut breach list (`_breaches_next_due`), and whether it may be stored: all from one snapshot, which must
    not miss a change of a transaction that was writing when the computation began."""
    storable = not _still_running(writers)
    report = _report_weekly(scope, week, now=now)
    next_due = None
    if report.breaches_total > len(report.breaches):
        unsettled = sum(1 for breach in report.breaches if breach.settled_at is None)
        next_due = _breaches_next_due(scope, week, now, unsettled)
    return report, _engineers(scope), _labels(), next_due, storable


def _as_of(report: WeeklyReport, scope: _Scope, week: Week, now: datetime) -> WeeklyReport:
    """A stored report as a computation at `now` would give it: a breach still unsettled in the copy is re-read by
    its clock's id — met or ended since (a pick-up, a resolution, a cancellation now, which leave the week's counts
    as they were), it is settled then, else late until now — and the list is ordered by lateness again, stably, as
    the query orders ties; the incident sections are read afresh, as grant reviews, hypercare windows and
    post-incident reviews change without an event on the week's requests."""
    unsettled = [breach.clock_id for breach in report.breaches if breach.settled_at is None]
    settled: dict[int, datetime | None] = {}
    if unsettled:
        rows = RequestClock.objects.filter(pk__in=unsettled).values_list("pk", "met_at", "ended_at")
        settled = {pk: met_at or ended_at for pk, met_at, ended_at in rows}
    zone = zoneinfo.ZoneInfo(week.tz)
    breaches: list[Breach] = []
    for breach in report.breaches:
        if breach.settled_at is None:
            at = settled.get(breach.clock_id)
            breach = dataclasses.replace(
                breach,
                settled_at=timezone.localtime(at, zone) if at else None,
                late_seconds=_seconds((at or now) - breach.due_at) or 0.0,
            )
        breaches.append(breach)
    breaches.sort(key=lambda b: (b.settled_at or now) - b.due_at, reverse=True)
    return dataclasses.replace(
        report,
        generated_at=now,
        breaches=breaches,
        break_glass=_break_glass(scope, week.start, week.end, now),
        hypercare=_hypercare(scope, week.start, week.end, now),
        incident_reviews=_incident_reviews(scope, week.start, week.end),
    )


def _loaded(row: StoredWeek, engineers: dict[int, int], labels: dict) -> tuple[WeeklyReport, datetime | None] | None:
    """The row's report as it was computed and its cut list's next due time, when a computation now would still
    give it (bar the clock): not stale, of this shape, and computed with these active engineers and names."""
    if row.stale or row.schema != SCHEMA or row.report is None:
        return None
    report, stored_engineers, stored_labels, next_due = pickle.loads(bytes(row.report))  # noqa: S301 — see the import
    if stored_engineers != engineers or stored_labels != labels:
        return None
    return report, next_due


def _current(row: StoredWeek, engineers: dict[int, int], labels: dict) -> WeeklyReport | None:
    loaded = _loaded(row, engineers, labels)
    return None if loaded is None else loaded[0]


def _servable(row: StoredWeek, scope: _Scope, week: Week) -> WeeklyReport | None:
    """The stored copy as of now, or None when it no longer says what a computation would."""
    if row.stale or row.schema != SCHEMA or row.report is None:
        return None  # before the look-ups `_loaded` compares with
    loaded = _loaded(row, _engineers(scope), _labels())
    if loaded is None:
        return None
    now = timezone.now()
    report = _as_of(loaded[0], scope, week, now)
    if report.breaches_total > len(report.breaches):
        # A cut list: unsettled breaches grow later with the clock and may overtake its last entries. The strongest
        # one left out (the earliest due: every unsettled breach is late by now − due) must still be less late than
        # the least late entry, or a computation now would list it: recomputed then.
        next_due = loaded[1]
        least = min(breach.late_seconds for breach in report.breaches)
        if next_due is not None and (now - next_due).total_seconds() >= least:
            return None
    return report


def report_week_copy(
    scope: _Scope, weeks: list[Week], *, engineers: dict[int, int], labels: dict
) -> WeeklyReport | None:
    """The newest of `weeks` (finished weeks of one timezone) whose stored copy is current, as it was computed; None
    when none is, or when the newest copy not marked stale is not current (other engineers or names).

    A later week's computation builds on it (reports/selectors/weekly.py): a finished week's figures and its
    trends' points are the same whenever they are read after its end, until a change restales it — and a change
    restales every week after the instant it moves, so the weeks after the newest current copy are the stale
    ones."""
    row = (
        StoredWeek.objects.filter(
            tz=weeks[0].tz, week__in=[week.label for week in weeks], scope=scope_key(scope.filters), stale=False
        )
        .order_by("-end")
        .first()
    )
    return None if row is None else _current(row, engineers, labels)


def report_week_stored(scope: _Scope, week: Week) -> WeeklyReport:
    """A finished week's report for `scope`: the stored copy when it is current, else computed now and stored."""
    row = StoredWeek.objects.filter(tz=week.tz, week=week.label, scope=scope_key(scope.filters)).first()
    if row is not None:
        report = _servable(row, scope, week)
        if report is not None:
            return report
    return report_week_store(scope, week)


def report_week_store(scope: _Scope, week: Week) -> WeeklyReport:
    """Compute a finished week for `scope` and store it, unless a change may have come in unseen while it was
    computing (then the row stays stale: the answer returned is still right as of its snapshot)."""
    now = timezone.now()
    row, _ = StoredWeek.objects.get_or_create(
        tz=week.tz, week=week.label, scope=scope_key(scope.filters), defaults={"end": week.end}
    )
    # From here on every change to the week bumps the row's generation, stale or not (report_weeks_restale) …
    StoredWeek.objects.filter(pk=row.pk).update(computing_since=now)
    generation = StoredWeek.objects.filter(pk=row.pk).values_list("generation", flat=True).get()
    # … and a change whose bump came before that is by a transaction that was writing then: if it is still
    # running when the snapshot is taken, the snapshot misses it, so the copy is not stored.
    writers = _writers()
    report, engineers, labels, next_due, storable = _computed(scope, week, now, writers)
    if storable:
        StoredWeek.objects.filter(pk=row.pk, generation=generation).update(
            report=pickle.dumps((report, engineers, labels, next_due), protocol=pickle.HIGHEST_PROTOCOL),
            schema=SCHEMA,
            stale=False,
            computed_at=now,
            computing_since=None,
        )
    return report


def report_weeks_restale(*, since: datetime) -> None:
    """Mark stale every stored week that ends after `since` (the earliest instant a change can move, see above), in
    the change's transaction; a copy being computed is bumped too, so it is not stored without the change."""
    _restale_update().run(router.db_for_write(StoredWeek), since=since)


def _weeks_restaled(*, since: datetime) -> tuple[QuerySet[StoredWeek], dict[str, Any]]:
    weeks = StoredWeek.objects.filter(Q(stale=False) | Q(computing_since__isnull=False), end__gt=since)
    return weeks, {"stale": True, "generation": F("generation") + 1}


@functools.cache
def _restale_update() -> CompiledUpdate:
    """`_weeks_restaled` compiled once per process: every event restales, and building the update was most of it."""
    return CompiledUpdate(_weeks_restaled, {"since": datetime(1901, 2, 3, 4, 5, 6, 703, tzinfo=UTC)})


def usual_scopes() -> list[dict[str, Any]]:
    """The scopes stored for every finished week without waiting for a reader: the organisation, each vendor, each
    environment, each priority and each environment × priority (what the report's filters offer first)."""
    environments = list(Environment.objects.order_by("pk").values_list("pk", flat=True))
    scopes: list[dict[str, Any]] = [{}]
    scopes += [{"vendor_id": pk} for pk in Vendor.objects.order_by("pk").values_list("pk", flat=True)]
    scopes += [{"environment_id": pk} for pk in environments]
    scopes += [{"priority": p} for p in Priority.values]
    scopes += [{"environment_id": pk, "priority": p} for pk in environments for p in Priority.values]
    return scopes


def _ensure(weeks: list[Week]) -> int:
    """Rows (stale, to compute) for the usual scopes of `weeks`; returns how many were added."""
    scopes = usual_scopes()
    added = 0
    for week in weeks:
        have = set(StoredWeek.objects.filter(tz=week.tz, week=week.label).values_list("scope", flat=True))
        rows = [
            StoredWeek(tz=week.tz, week=week.label, scope=key, end=week.end)
            for key in (scope_key(filters) for filters in scopes)
            if key not in have
        ]
        StoredWeek.objects.bulk_create(rows, ignore_conflicts=True)
        added += len(rows)
    return added


def report_weeks_refresh(
    *, now: datetime | None = None, weeks: int = 1, budget_seconds: float | None = None
) -> dict[str, int]:
    """Store the last `weeks` finished weeks (in PORTICO_REPORT_TIMEZONE) for the usual scopes, then recompute
    every stale copy, newest week first, for at most `budget_seconds`. Safe on two workers at once: a copy is
    written only if nothing touched its week while it was computed, and computing one twice stores the same."""
    now = now or timezone.now()
    budget = settings.PORTICO_REPORT_STORE_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    last = week_containing(now, tz=settings.PORTICO_REPORT_TIMEZONE).shifted(-1)
    added = _ensure([last.shifted(-offset) for offset in range(weeks)])
    deadline = time.monotonic() + budget
    computed = dropped = 0
    for row in StoredWeek.objects.filter(stale=True, end__lte=now).order_by("-end", "pk").iterator():
        if time.monotonic() > deadline:
            break
        try:
            scope = _scope_of_filters(dict(json.loads(row.scope)))
        except LookupError:
            StoredWeek.objects.filter(pk=row.pk).delete()  # its vendor or environment is gone: nobody can ask
            dropped += 1
            continue
        report_week_store(scope, week_parse(row.week, tz=row.tz))
        computed += 1
    if computed or dropped:
        logger.info("stored weeks: %s added, %s computed, %s dropped", added, computed, dropped)
    return {"added": added, "computed": computed, "dropped": dropped}
