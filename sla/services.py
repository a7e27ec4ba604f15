"""SLA writes: the clock ledger of each request, the figures derived from it, policy versions and the scan."""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import router, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from portal.compiled import CompiledUpdate
from portal.exceptions import Forbidden, ValidationFailed
from portal.models import MetricCounter
from portal.timefmt import format_time
from requests_app.choices import EventKind, RequestState

from . import conditions, ledger
from .choices import Clock, ClockKind, LedgerKind, Measure, PauseReason
from .models import BusinessCalendar, ClockLedgerEntry, RequestClock, SlaPolicy
from .policies import DEFAULT_CALENDAR_SLUG, calendar_cache_forget, goal_for, goal_setting, policy_current

if TYPE_CHECKING:
    from portal.models import User
    from requests_app.models import ServiceRequest

logger = logging.getLogger(__name__)


@transaction.atomic
def sla_policy_revise(*, priority: str, actor: User | None, note: str = "", **fields: Any) -> SlaPolicy:
    """Edit a priority's policy by writing its next version; open requests keep the version they started under."""
    current = SlaPolicy.objects.select_for_update().filter(priority=priority, is_current=True).first()
    values = (
        {
            name: getattr(current, name)
            for name in (
                "response_goal",
                "response_unit",
                "response_clock",
                "resolution_goal",
                "resolution_unit",
                "resolution_clock",
                "at_risk_ratio",
                "pause_reasons",
            )
        }
        if current
        else {}
    )
    values.update(fields)
    version = (
        SlaPolicy.objects.filter(priority=priority).order_by("-version").values_list("version", flat=True).first() or 0
    ) + 1
    policy = SlaPolicy(priority=priority, version=version, is_current=True, created_by=actor, note=note, **values)
    policy.full_clean(exclude=["is_current"])
    if current:
        SlaPolicy.objects.filter(pk=current.pk).update(is_current=False)
    policy.save()
    return policy


# --- the ledger -----------------------------------------------------------------------------------------
def _entry(
    service_request: ServiceRequest,
    *,
    clock: str,
    kind: str,
    at: datetime,
    measure: str = "",
    vendor_id: int | None = None,
    policy: SlaPolicy | None = None,
    reason: str = "",
    extension: timedelta | None = None,
) -> ClockLedgerEntry:
    return ClockLedgerEntry(
        extension=extension,
        service_request=service_request,
        clock=clock,
        measure=measure,
        kind=kind,
        at=at,
        vendor_id=vendor_id,
        policy=policy,
        reason=reason[:300],
    )


def _append(service_request: ServiceRequest, **fields: Any) -> ClockLedgerEntry:
    entry = _entry(service_request, **fields)
    entry.save()
    return entry


def _ledger_query(viewer: None, request_id: int) -> Any:
    return ClockLedgerEntry.objects.filter(service_request=request_id).select_related("policy").order_by("at", "pk")


def _ledger_of(service_request: ServiceRequest) -> list[ClockLedgerEntry]:
    """`service_request.clock_ledger.select_related("policy").order_by("at", "pk")`, compiled once per process
    (every write and the request page replay it)."""
    from requests_app.compiled import rows_of_request

    entries = rows_of_request(_ledger_query, service_request.pk)
    for entry in entries:  # as the related manager sets it
        entry._state.fields_cache["service_request"] = service_request
    return entries


def sla_clock_start(service_request: ServiceRequest, *, at: datetime) -> None:
    """Filing starts the requester's SLA under the priority's current policy (the request's first ledger entry)."""
    entry = _append(
        service_request, clock=Clock.SLA, kind=LedgerKind.START, at=at, policy=policy_current(service_request.priority)
    )
    # A request just filed has no other entry and no clock yet: nothing to read back, no flag to re-arm.
    sla_refresh(service_request, entries=[entry], first=True)


def sla_retarget(
    service_request: ServiceRequest, *, at: datetime, reason: str, policy: SlaPolicy | None = None
) -> None:
    """A priority change (or a re-applied policy) sets new goals, measured from submission as before."""
    policy = policy or policy_current(service_request.priority)
    for clock in (Clock.SLA, Clock.OLA):
        _append(service_request, clock=clock, kind=LedgerKind.RETARGET, at=at, policy=policy, reason=reason)
    sla_refresh(service_request)


OPEN_WORK = {RequestState.QUEUED, RequestState.IN_PROGRESS, RequestState.BLOCKED}


def ledger_for_step(
    *,
    name: str,
    before: str,
    after: str,
    vendor_id: int | None,
    vendor_changed: bool,
    pauses: Collection[str] = (PauseReason.WAITING_ON_REQUESTER,),
    pause_reason: str = "",
    paused: bool | None = None,
) -> list[dict]:
    """The clock events one workflow step causes (pure): the single rule for how the workflow moves the clocks.

    Waiting on the requester and being blocked (escalated, with its reason: a third party, a change freeze, or
    just blocked) pause the clocks when `pauses`, the policy's pause reasons, names that reason; leaving the state
    resumes them when they were `paused` (None: assume so; a resume of a running clock changes nothing)."""
    both = (Clock.SLA, Clock.OLA)
    entries: list[dict[str, Any]] = []
    holds = (RequestState.WAITING_ON_REQUESTER, RequestState.BLOCKED)
    if before in holds and after != before and paused is not False:
        entries += [{"clock": c, "kind": LedgerKind.RESUME} for c in both]
    if after in holds and before != after:
        reason = (
            PauseReason.WAITING_ON_REQUESTER
            if after == RequestState.WAITING_ON_REQUESTER
            else (pause_reason or PauseReason.BLOCKED)
        )
        if reason in pauses:
            entries += [{"clock": c, "kind": LedgerKind.PAUSE, "reason": str(reason)} for c in both]
    if after == RequestState.QUEUED and before in (RequestState.SUBMITTED, RequestState.PENDING_APPROVAL):
        entries.append({"clock": Clock.OLA, "kind": LedgerKind.START, "vendor_id": vendor_id})
    if name == "reassign" and vendor_changed:
        entries.append({"clock": Clock.OLA, "kind": LedgerKind.VENDOR_CHANGE, "vendor_id": vendor_id})
    if name == "pick_up":
        entries += [{"clock": c, "kind": LedgerKind.STOP, "measure": Measure.RESPONSE} for c in both]
    if name == "resolve":
        entries += [{"clock": c, "kind": LedgerKind.STOP, "measure": Measure.RESOLUTION} for c in both]
    if name == "reopen":
        entries += [{"clock": c, "kind": LedgerKind.REOPEN, "measure": Measure.RESOLUTION} for c in both]
    if after in (RequestState.REJECTED, RequestState.CANCELLED):
        entries += [{"clock": c, "kind": LedgerKind.CANCEL, "reason": after} for c in both]
    return entries


def sla_on_transition(
    service_request: ServiceRequest, *, name: str, before: str, at: datetime, reason: str = "", pause_reason: str = ""
) -> None:
    """Turn one workflow step into clock events; called by `request_transition` inside its transaction.
    `pause_reason` says why an escalation blocks the work; the request's policy says whether that pauses."""
    vendor_changed = name == "reassign" and _ola_vendor(service_request) not in (None, service_request.vendor_id)
    step = {
        "name": name,
        "before": before,
        "after": service_request.state,
        "vendor_id": service_request.vendor_id,
        "vendor_changed": vendor_changed,
        "pause_reason": pause_reason,
    }
    if not ledger_for_step(**step, pauses=PauseReason.values):
        return  # a step that never moves a clock: the ledger is not read
    # The ledger is read once: it names the policy the new entries run under and is then replayed with them.
    rows = _ledger_of(service_request)
    policy = _policy_of(service_request, rows)
    entries = ledger_for_step(**step, pauses=policy.pause_reasons or (), paused=_sla_paused(rows))
    if not entries:
        return
    added = []
    for entry in entries:
        if entry["kind"] in (LedgerKind.START, LedgerKind.VENDOR_CHANGE):
            entry["policy"] = policy
        added.append(_entry(service_request, at=at, **entry))
    ClockLedgerEntry.objects.bulk_create(added)
    sla_refresh(service_request, entries=sorted(rows + added, key=lambda row: (row.at, row.pk)))


def _sla_paused(rows: Iterable[ClockLedgerEntry]) -> bool:
    """Whether the last pause or resume in the ledger was a pause (the clocks stand still now)."""
    paused = False
    for row in rows:
        if row.kind in (LedgerKind.PAUSE, LedgerKind.RESUME):
            paused = row.kind == LedgerKind.PAUSE
    return paused


def _ola_vendor(service_request: ServiceRequest) -> int | None:
    return (
        RequestClock.objects.filter(service_request=service_request, clock=Clock.OLA, ended_at__isnull=True)
        .exclude(started_at__isnull=True)
        .values_list("vendor_id", flat=True)
        .first()
    )


def _policy_of(service_request: ServiceRequest, entries: Iterable[ClockLedgerEntry] | None = None) -> SlaPolicy:
    """The policy the request runs under: the one named by its latest start or retarget."""
    rows = entries if entries is not None else service_request.clock_ledger.select_related("policy").all()
    chosen = None
    for row in rows:
        if row.policy_id and row.kind in (LedgerKind.START, LedgerKind.RETARGET) and row.clock == Clock.SLA:
            chosen = row.policy
    return chosen or policy_current(service_request.priority)


def sla_compute(
    service_request: ServiceRequest,
    *,
    entries: list[ClockLedgerEntry] | None = None,
    policy: SlaPolicy | None = None,
    clocks: Iterable[str] = (Clock.SLA, Clock.OLA),
) -> dict[tuple[str, str], tuple[ledger.Figures, SlaPolicy, timedelta | None]]:
    """Replay the request's ledger without writing anything (for `clocks` only: each clock replays its own rows).

    Each clock runs under the policy its own ledger names (`ledger.governing_target`): a priority change retargets
    the clocks still running, while a clock already met or ended keeps the policy, and so the outcome, it ended
    under; a revised policy of the same priority, re-applied, re-evaluates finished clocks too. `policy`, a
    candidate for a what-if, stands in for the request's current policy wherever that governs."""
    rows = entries if entries is not None else _ledger_of(service_request)
    current = _policy_of(service_request, rows)
    results: dict[tuple[str, str], tuple[ledger.Figures, SlaPolicy, timedelta | None]] = {}
    for clock in clocks:
        clock_rows = [
            ledger.Entry(
                kind=r.kind,
                at=r.at,
                measure=r.measure or None,
                target=r.policy if r.policy_id else None,
                reason=r.reason,
                extension=r.extension,
            )
            for r in rows
            if r.clock == clock
        ]
        starts = [r.at for r in rows if r.clock == clock and r.kind in (LedgerKind.START, LedgerKind.VENDOR_CHANGE)]
        for measure in (Measure.RESPONSE, Measure.RESOLUTION):
            governing: SlaPolicy = ledger.governing_target(clock_rows, measure=measure, family=_priority_of) or current
            if policy is not None and governing.pk == current.pk:
                governing = policy
            calendar, goal = goal_for(governing, measure, service_request, starts[-1] if starts else None)
            figures = ledger.replay(
                clock_rows, measure=measure, calendar=calendar, goal=goal, at_risk_ratio=float(governing.at_risk_ratio)
            )
            results[(clock, measure)] = (figures, governing, goal)
    return results


def _priority_of(policy: SlaPolicy) -> str:
    return policy.priority


def clock_rows(service_request: ServiceRequest, computed: dict, *, ola_vendor_id: int | None) -> list[dict[str, Any]]:
    """The `RequestClock` field values for computed figures (shared by the live path and bulk seeding)."""
    rows = []
    for (clock, measure), (figures, policy, goal) in computed.items():
        rows.append(
            {
                "service_request_id": service_request.pk,
                "clock": clock,
                "measure": measure,
                "vendor_id": ola_vendor_id if clock == Clock.OLA else service_request.vendor_id,
                "policy_id": policy.pk,
                "priority": policy.priority,
                "goal": goal,
                "round_the_clock": goal_setting(policy, measure)[2] == ClockKind.ROUND_THE_CLOCK,
                "started_at": figures.started_at,
                "running_since": figures.running_since,
                "elapsed": figures.elapsed,
                "paused_since": figures.paused_since,
                "paused": figures.paused,
                "at_risk_at": figures.at_risk_at,
                "due_at": figures.due_at,
                "met_at": figures.met_at,
                "ended_at": figures.ended_at,
                "breached": figures.breached,
            }
        )
    return rows


REQUEST_SLA_COLUMNS = ("response_due_at", "resolution_due_at", "next_due_at", "sla_breach_at", "next_at_risk_at")


def request_sla_columns(clocks: Iterable[RequestClock]) -> dict[str, datetime | None]:
    """The request's SLA columns from its clocks' figures (saved or not), denormalised so the queues sort and filter
    from an index without reading the clocks: the requester's SLA response and resolution due times; `next_due_at`,
    the due time of the SLA clock that runs out next (none while neither runs: paused, met, ended); and the two
    instants `sla.conditions.request_breached` and `request_at_risk` compare with now (see there)."""
    sla = [clock for clock in clocks if clock.clock == Clock.SLA]
    running = [clock for clock in sla if conditions.is_running(clock)]
    due = {clock.measure: clock.due_at for clock in sla}
    return {
        "response_due_at": due.get(Measure.RESPONSE),
        "resolution_due_at": due.get(Measure.RESOLUTION),
        "next_due_at": min((c.due_at for c in running if c.due_at is not None), default=None),
        "sla_breach_at": min(
            (c.due_at for c in sla if c.due_at is not None and (c.breached or conditions.is_running(c))), default=None
        ),
        "next_at_risk_at": min((c.at_risk_at for c in running if c.at_risk_at is not None), default=None),
    }


def _request_columns_write(service_request: ServiceRequest, columns: dict[str, datetime | None]) -> None:
    from requests_app.models import ServiceRequest as Model

    Model.objects.filter(pk=service_request.pk).update(**columns)
    for name, value in columns.items():
        setattr(service_request, name, value)


def sla_columns_sync(service_request: ServiceRequest) -> None:
    """Rewrite the request's SLA columns from its stored clocks (for clocks written other than by `sla_refresh`)."""
    _request_columns_write(
        service_request, request_sla_columns(RequestClock.objects.filter(service_request=service_request))
    )


CLOCK_FIELDS = [
    field.name
    for field in RequestClock._meta.concrete_fields
    if field.name not in ("id", "service_request", "clock", "measure", "at_risk_flagged_at", "breached_flagged_at")
]


def sla_refresh(
    service_request: ServiceRequest, *, entries: list[ClockLedgerEntry] | None = None, first: bool = False
) -> None:
    """Rewrite the stored figures of every clock of the request from its ledger (`entries`, in order, when the
    caller has just read it), and the request's SLA columns with them. `first`: the clocks are written for the
    first time (filing), so none carries a flag to re-arm."""
    rows = entries if entries is not None else _ledger_of(service_request)
    computed = sla_compute(service_request, entries=rows)
    ola_vendors = [row.vendor_id for row in rows if row.clock == Clock.OLA and row.vendor_id is not None]
    clocks = [
        RequestClock(**row)
        for row in clock_rows(service_request, computed, ola_vendor_id=ola_vendors[-1] if ola_vendors else None)
    ]
    # One upsert for the four clocks; the scan's flags are left as they are.
    RequestClock.objects.bulk_create(
        clocks, update_conflicts=True, unique_fields=["service_request", "clock", "measure"], update_fields=CLOCK_FIELDS
    )
    if not first:
        _rearm_flags(service_request)
    # Denormalised onto the request so queues sort by due time (and urgency) and filter by "breached" and "at risk"
    # from an index, without a join.
    _request_columns_write(service_request, request_sla_columns(clocks))


def _rearm_flags(service_request: ServiceRequest) -> None:
    """Flags belong to a clock's current target: once a retarget or a reopen moves a flagged clock's due (or
    at-risk) time into the future, the flag is cleared, so the scan flags and notifies the new target when it is
    really crossed. A due time that moved but is still past keeps its flag: that breach was already told."""
    _rearm_update().run(router.db_for_write(RequestClock), request=service_request.pk, now=timezone.now())


_NOW = datetime(1901, 2, 3, 4, 5, 6, 701, tzinfo=UTC)  # stands in for the time now: no clock is due then


def _flags_rearmed(*, request: int, now: datetime) -> tuple[QuerySet[RequestClock], dict[str, Any]]:
    flagged = RequestClock.objects.filter(
        Q(breached_flagged_at__isnull=False, due_at__gt=now) | Q(at_risk_flagged_at__isnull=False, at_risk_at__gt=now),
        service_request=request,
    )
    return flagged, {
        "breached_flagged_at": Case(When(due_at__gt=now, then=Value(None)), default=F("breached_flagged_at")),
        "at_risk_flagged_at": Case(When(at_risk_at__gt=now, then=Value(None)), default=F("at_risk_flagged_at")),
    }


@functools.cache
def _rearm_update() -> CompiledUpdate:
    """`_flags_rearmed` compiled once per process: every transition re-arms, and building the update was a tenth
    of a pick-up's CPU."""
    return CompiledUpdate(_flags_rearmed, {"request": -(2**62) + 701, "now": _NOW})


# --- extensions ----------------------------------------------------------------------------------------
@transaction.atomic
def sla_extend(
    service_request: ServiceRequest,
    *,
    actor: User,
    measure: str,
    reason: str,
    by: timedelta | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> RequestClock:
    """The program manager moves one SLA clock's due time (response or resolution) later, `by` a duration or
    `until` a new instant, saying why. Recorded in the clock ledger (so a replay keeps it) and on the timeline; a
    flag whose due time moves into the future re-arms (the existing rule)."""
    from requests_app.models import ServiceRequest as Model
    from requests_app.permissions import is_program_manager
    from requests_app.timeline import timeline_append

    if not is_program_manager(actor):
        raise Forbidden("Only the program manager can extend a due time.")
    now = now or timezone.now()
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if measure not in Measure.values:
        errors["measure"] = "Choose the response or the resolution due time."
    if not reason:
        errors["reason"] = "Say why the due time moves."
    if (by is None) == (until is None):
        errors["by"] = "Give a duration or a new due time (one of the two)."
    elif by is not None and by <= timedelta(0):
        errors["by"] = "An extension must be longer than zero."
    elif until is not None and until <= now:
        errors["until"] = "The new due time must be in the future."
    if errors:
        raise ValidationFailed(next(iter(errors.values())), fields=errors)
    locked = Model.objects.select_for_update().get(pk=service_request.pk)
    clock = RequestClock.objects.filter(service_request=locked, clock=Clock.SLA, measure=measure).first()
    label = f"{Measure(measure).label} due"
    if clock is None or clock.started_at is None or clock.met_at or clock.ended_at:
        raise ValidationFailed(
            f"The {label.lower()} time has no running clock to extend.",
            fields={
                "measure": f"The {Measure(measure).label.lower()} clock is not running (not started, met or ended)."
            },
        )
    if clock.due_at is None:
        raise ValidationFailed(
            f"The {label.lower()} time is not set yet.", fields={"measure": "There is no due time to extend."}
        )
    shift = by if by is not None else until - clock.due_at  # type: ignore[operator]
    if shift <= timedelta(0):
        raise ValidationFailed(
            "The new due time must be later than the current one.",
            fields={"until": f"Due {format_time(clock.due_at, 'short')} now; choose a later time."},
        )
    before = clock.due_at
    _append(locked, clock=Clock.SLA, kind=LedgerKind.EXTEND, at=now, measure=measure, reason=reason, extension=shift)
    sla_refresh(locked)
    clock.refresh_from_db()
    timeline_append(
        locked,
        actor=actor,
        kind=EventKind.SLA_EXTENDED,
        message=reason,
        payload={
            "measure": measure,
            "by_seconds": int(shift.total_seconds()),
            "due_before": _iso(before),
            "due_after": _iso(clock.due_at),
        },
    )
    return clock


# --- the scan -------------------------------------------------------------------------------------------
def sla_scan(*, now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Flag clocks that newly became at risk or breached: one audit event each, ever; safe on two workers."""
    now = now or timezone.now()
    counts = {"breached": 0, "at_risk": 0}
    # Ordered by the column each partial index is on, so PostgreSQL walks the index, not the primary key.
    for label, queryset, field, kind, order in (
        ("breached", RequestClock.objects.newly_breached(now), "breached_flagged_at", EventKind.SLA_BREACHED, "due_at"),
        ("at_risk", RequestClock.objects.newly_at_risk(now), "at_risk_flagged_at", EventKind.SLA_AT_RISK, "at_risk_at"),
    ):
        while True:
            with transaction.atomic():
                rows = list(
                    queryset.select_for_update(skip_locked=True, of=("self",))
                    .select_related("service_request")
                    .order_by(order, "pk")[:batch]
                )
                for row in rows:
                    _flag(row, field=field, kind=kind, now=now)
            counts[label] += len(rows)
            if len(rows) < batch:
                break
    return counts


def _flag(row: RequestClock, *, field: str, kind: str, now: datetime) -> None:
    from requests_app.models import RequestEvent
    from requests_app.timeline import timeline_append

    updates = {field: now}
    if field == "breached_flagged_at" and row.at_risk_flagged_at is None:
        updates["at_risk_flagged_at"] = now  # a clock that jumped straight to breached is never "at risk" later
    RequestClock.objects.filter(pk=row.pk).update(**updates)
    due_iso = row.due_at.isoformat() if row.due_at else None
    told = RequestEvent.objects.filter(
        service_request_id=row.service_request_id,
        kind=kind,
        payload__clock=row.clock,
        payload__measure=row.measure,
        payload__due_at=due_iso,
    )
    if told.exists():
        # This very target was crossed and told before (a priority went down and back up again): flagged, not
        # told twice.
        return
    if field == "breached_flagged_at":
        MetricCounter.bump("sla_breach_events")
    crossed = row.due_at if kind == EventKind.SLA_BREACHED else row.at_risk_at
    due = format_time(row.due_at, "short") if row.due_at else "—"
    label = f"{row.get_clock_display()} {row.get_measure_display().lower()}"
    message = f"{label} breached: was due {due}." if kind == EventKind.SLA_BREACHED else f"{label} at risk: due {due}."
    timeline_append(
        row.service_request,
        kind=kind,
        message=message,
        internal=row.clock == Clock.OLA,
        payload={
            "clock": row.clock,
            "measure": row.measure,
            "due_at": due_iso,
            # How long ago the threshold passed: large on a fresh install's first scan or after downtime, when
            # notifications sum these up instead of sending one per clock.
            "late_by_seconds": int((now - crossed).total_seconds()) if crossed else None,
        },
    )


# --- replay (what-if) -----------------------------------------------------------------------------------
def _candidate(policy: SlaPolicy, overrides: dict[str, Any]) -> SlaPolicy:
    """An unsaved copy of `policy` with some goals changed, for a what-if."""
    candidate = SlaPolicy(
        priority=policy.priority,
        version=policy.version,
        **{name: overrides.get(name, getattr(policy, name)) for name in POLICY_FIELDS},
    )
    candidate.full_clean(exclude=["version", "is_current", "priority"])
    return candidate


POLICY_FIELDS = (
    "response_goal",
    "response_unit",
    "response_clock",
    "resolution_goal",
    "resolution_unit",
    "resolution_clock",
    "at_risk_ratio",
    "pause_reasons",
)


def sla_replay(
    service_request: ServiceRequest, *, under: str = "own", overrides: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Recompute a request's clocks from its ledger without writing: under its own policy version, the current
    one ("current"), and optionally with candidate goal overrides per priority. Returns what would change."""
    rows = _ledger_of(service_request)
    if under != "own":
        current = policy_current(service_request.priority)
        if _policy_of(service_request, rows) != current:
            # What `--apply` would do: a retarget now, which moves only the clocks still running.
            at = timezone.now()
            rows += [_entry(service_request, clock=c, kind=LedgerKind.RETARGET, at=at, policy=current) for c in Clock]
    policy = None
    if overrides and service_request.priority in overrides:
        policy = _candidate(_policy_of(service_request, rows), overrides[service_request.priority])
    computed = sla_compute(service_request, entries=rows, policy=policy)
    stored = {(c.clock, c.measure): c for c in service_request.clocks.all()}
    changes = []
    for (clock, measure), (figures, used, _goal) in computed.items():
        before = stored.get((clock, measure))
        change = {
            "clock": clock,
            "measure": measure,
            "policy": f"{used.priority} v{used.version}{'*' if used.pk is None else ''}",
            "due_before": before.due_at if before else None,
            "due_after": figures.due_at,
            "breached_before": before.breached if before else False,
            "breached_after": figures.breached,
        }
        change["changed"] = (change["due_before"], change["breached_before"]) != (figures.due_at, figures.breached)
        changes.append(change)
    return changes


@transaction.atomic
def sla_replay_apply(
    service_request: ServiceRequest, *, under: str = "own", actor: User | None = None, because: str = ""
) -> list[dict]:
    """Rewrite the stored figures from the ledger (re-applying the current policy when `under="current"`), audited;
    `because` says on the timeline what prompted it (a calendar change, say)."""
    from requests_app.timeline import timeline_append

    changes = sla_replay(service_request, under=under)
    if not any(c["changed"] for c in changes) and under == "own":
        return changes
    if under == "current" and _policy_of(service_request) != policy_current(service_request.priority):
        sla_retarget(service_request, at=timezone.now(), reason="current policy re-applied")
    else:
        sla_refresh(service_request)
    timeline_append(
        service_request,
        kind=EventKind.SLA_RECOMPUTED,
        message="SLA figures recomputed from the clock ledger"
        + (" under the current policy" if under == "current" else "")
        + (f" {because}" if because else "")
        + ".",
        internal=True,
        payload={
            "by": actor.username if actor else None,
            "changes": [
                {**c, "due_before": _iso(c["due_before"]), "due_after": _iso(c["due_after"])}
                for c in changes
                if c["changed"]
            ],
        },
    )
    return changes


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- calendar changes -----------------------------------------------------------------------------------
@transaction.atomic
def sla_calendar_changed(
    calendar: BusinessCalendar, *, actor: User | None, environment_ids: Iterable[int] | None = None
) -> int:
    """After a calendar changed: make every process build its new version, and rewrite the due times of the open
    requests that run on it (or, given `environment_ids`, in those environments), each one audited on its
    timeline when its figures moved. Returns how many requests' figures changed."""
    from requests_app.models import Environment, ServiceRequest

    BusinessCalendar.objects.filter(pk=calendar.pk).update(updated_at=timezone.now())
    calendar_cache_forget()
    if environment_ids is None:
        environments = Environment.objects.filter(calendar=calendar)
        if calendar.slug == DEFAULT_CALENDAR_SLUG:  # environments without a calendar run on the national one
            environments = Environment.objects.filter(Q(calendar=calendar) | Q(calendar__isnull=True))
        environment_ids = list(environments.values_list("pk", flat=True))
    moved = 0
    requests = ServiceRequest.objects.open().filter(environment_id__in=list(environment_ids))
    for service_request in requests.select_related("environment__calendar").order_by("pk"):
        changes = sla_replay_apply(service_request, actor=actor, because=f"after a change to the {calendar} calendar")
        moved += any(change["changed"] for change in changes)
    return moved
