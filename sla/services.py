"""SLA writes: the clock ledger of each request, the figures derived from it, policy versions and the scan."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.models import MetricCounter
from portal.timefmt import format_time
from requests_app.choices import EventKind, RequestState

from . import ledger
from .choices import Clock, ClockKind, LedgerKind, Measure
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
) -> ClockLedgerEntry:
    return ClockLedgerEntry(
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


def _ledger_of(service_request: ServiceRequest) -> list[ClockLedgerEntry]:
    return list(service_request.clock_ledger.select_related("policy").order_by("at", "pk"))


def sla_clock_start(service_request: ServiceRequest, *, at: datetime) -> None:
    """Filing starts the requester's SLA under the priority's current policy."""
    _append(
        service_request, clock=Clock.SLA, kind=LedgerKind.START, at=at, policy=policy_current(service_request.priority)
    )
    sla_refresh(service_request)


def sla_retarget(
    service_request: ServiceRequest, *, at: datetime, reason: str, policy: SlaPolicy | None = None
) -> None:
    """A priority change (or a re-applied policy) sets new goals, measured from submission as before."""
    policy = policy or policy_current(service_request.priority)
    for clock in (Clock.SLA, Clock.OLA):
        _append(service_request, clock=clock, kind=LedgerKind.RETARGET, at=at, policy=policy, reason=reason)
    sla_refresh(service_request)


OPEN_WORK = {RequestState.QUEUED, RequestState.IN_PROGRESS, RequestState.BLOCKED}


def ledger_for_step(*, name: str, before: str, after: str, vendor_id: int | None, vendor_changed: bool) -> list[dict]:
    """The clock events one workflow step causes (pure): the single rule for how the workflow moves the clocks."""
    both = (Clock.SLA, Clock.OLA)
    entries: list[dict[str, Any]] = []
    if before == RequestState.WAITING_ON_REQUESTER and after != before:
        entries += [{"clock": c, "kind": LedgerKind.RESUME} for c in both]
    if after == RequestState.WAITING_ON_REQUESTER and before != after:
        entries += [{"clock": c, "kind": LedgerKind.PAUSE, "reason": "waiting on requester"} for c in both]
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
    service_request: ServiceRequest, *, name: str, before: str, at: datetime, reason: str = ""
) -> None:
    """Turn one workflow step into clock events; called by `request_transition` inside its transaction."""
    vendor_changed = name == "reassign" and _ola_vendor(service_request) not in (None, service_request.vendor_id)
    entries = ledger_for_step(
        name=name,
        before=before,
        after=service_request.state,
        vendor_id=service_request.vendor_id,
        vendor_changed=vendor_changed,
    )
    if not entries:
        return
    # The ledger is read once: it names the policy the new entries run under and is then replayed with them.
    rows = _ledger_of(service_request)
    policy = _policy_of(service_request, rows)
    added = []
    for entry in entries:
        if entry["kind"] in (LedgerKind.START, LedgerKind.VENDOR_CHANGE):
            entry["policy"] = policy
        added.append(_entry(service_request, at=at, **entry))
    ClockLedgerEntry.objects.bulk_create(added)
    sla_refresh(service_request, entries=sorted(rows + added, key=lambda row: (row.at, row.pk)))


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
) -> dict[tuple[str, str], tuple[ledger.Figures, SlaPolicy, timedelta | None]]:
    """Replay the request's ledger (optionally under a candidate policy) without writing anything."""
    rows = entries if entries is not None else _ledger_of(service_request)
    policy = policy or _policy_of(service_request, rows)
    results: dict[tuple[str, str], tuple[ledger.Figures, SlaPolicy, timedelta | None]] = {}
    for clock in (Clock.SLA, Clock.OLA):
        clock_rows = [ledger.Entry(kind=r.kind, at=r.at, measure=r.measure or None) for r in rows if r.clock == clock]
        starts = [r.at for r in rows if r.clock == clock and r.kind in (LedgerKind.START, LedgerKind.VENDOR_CHANGE)]
        for measure in (Measure.RESPONSE, Measure.RESOLUTION):
            calendar, goal = goal_for(policy, measure, service_request, starts[-1] if starts else None)
            figures = ledger.replay(
                clock_rows, measure=measure, calendar=calendar, goal=goal, at_risk_ratio=float(policy.at_risk_ratio)
            )
            results[(clock, measure)] = (figures, policy, goal)
    return results


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


def due_times_of(computed: dict) -> tuple[datetime | None, datetime | None]:
    """The requester-facing response and resolution due times, denormalised onto the request."""
    return computed[(Clock.SLA, Measure.RESPONSE)][0].due_at, computed[(Clock.SLA, Measure.RESOLUTION)][0].due_at


def next_due_of(computed: dict) -> datetime | None:
    """The due time of the requester's SLA clock that runs out next (response or resolution), None while neither
    runs (paused, met, ended): what the queues order by, denormalised onto the request like the due times."""
    running = [
        figures.due_at
        for (clock, _measure), (figures, _policy, _goal) in computed.items()
        if clock == Clock.SLA and figures.running_since is not None and figures.due_at is not None
    ]
    return min(running, default=None)


CLOCK_FIELDS = [
    field.name
    for field in RequestClock._meta.concrete_fields
    if field.name not in ("id", "service_request", "clock", "measure", "at_risk_flagged_at", "breached_flagged_at")
]


def sla_refresh(service_request: ServiceRequest, *, entries: list[ClockLedgerEntry] | None = None) -> None:
    """Rewrite the stored figures of every clock of the request from its ledger (`entries`, in order, when the
    caller has just read it)."""
    from requests_app.models import ServiceRequest as Model

    rows = entries if entries is not None else _ledger_of(service_request)
    computed = sla_compute(service_request, entries=rows)
    ola_vendors = [row.vendor_id for row in rows if row.clock == Clock.OLA and row.vendor_id is not None]
    # One upsert for the four clocks; the scan's flags are left as they are.
    RequestClock.objects.bulk_create(
        [
            RequestClock(**row)
            for row in clock_rows(service_request, computed, ola_vendor_id=ola_vendors[-1] if ola_vendors else None)
        ],
        update_conflicts=True,
        unique_fields=["service_request", "clock", "measure"],
        update_fields=CLOCK_FIELDS,
    )
    response_due, resolution_due = due_times_of(computed)
    next_due = next_due_of(computed)
    # Denormalised onto the request so queues sort by due time (and urgency) from an index, without a join.
    Model.objects.filter(pk=service_request.pk).update(
        response_due_at=response_due, resolution_due_at=resolution_due, next_due_at=next_due
    )
    service_request.response_due_at, service_request.resolution_due_at = response_due, resolution_due
    service_request.next_due_at = next_due


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
    from requests_app.timeline import timeline_append

    updates = {field: now}
    if field == "breached_flagged_at":
        MetricCounter.bump("sla_breach_events")
    if field == "breached_flagged_at" and row.at_risk_flagged_at is None:
        updates["at_risk_flagged_at"] = now  # a clock that jumped straight to breached is never "at risk" later
    RequestClock.objects.filter(pk=row.pk).update(**updates)
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
            "due_at": row.due_at.isoformat() if row.due_at else None,
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
)


def sla_replay(
    service_request: ServiceRequest, *, under: str = "own", overrides: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Recompute a request's clocks from its ledger without writing: under its own policy version, the current
    one ("current"), and optionally with candidate goal overrides per priority. Returns what would change."""
    rows = list(service_request.clock_ledger.select_related("policy").order_by("at", "pk"))
    policy = _policy_of(service_request, rows) if under == "own" else policy_current(service_request.priority)
    if overrides and service_request.priority in overrides:
        policy = _candidate(policy, overrides[service_request.priority])
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
