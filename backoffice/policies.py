"""The "SLA policies" section: each priority's revisions, the what-if of a draft, and saving a revision.

The what-if and the save both go through the SLA engine (`sla.services.sla_compute`, the replay the `sla_replay`
command runs, and `sla_replay_apply`, which retargets a request's clocks as a priority change does); nothing here
computes a due time itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from portal.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from requests_app.choices import OPEN_STATES, Priority
from requests_app.models import ServiceRequest
from sla.choices import Clock, ClockStatus, Measure
from sla.models import ClockLedgerEntry, RequestClock, SlaPolicy
from sla.policies import policy_current
from sla.selectors import ClockSnapshot, clock_reading
from sla.services import POLICY_FIELDS, sla_compute, sla_policy_revise, sla_replay_apply

from .audit import record_change, require_reason
from .models import Area
from .permissions import can_manage

if TYPE_CHECKING:
    from portal.models import User

# "Last quarter": the 13 weeks up to now, so the figure always covers a full quarter's worth of requests.
QUARTER = timedelta(weeks=13)


class ApplyTo:
    NEW = "new"
    OPEN = "open"
    CHOICES = [
        (NEW, "New requests only: open requests keep the revision they started under"),
        (OPEN, "New requests and the open ones: their due times move now"),
    ]


# --- reading ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PriorityPolicies:
    """One priority's current revision and every revision before it, newest first."""

    priority: str
    label: str
    current: SlaPolicy
    history: list[SlaPolicy]


def sla_policy_overview() -> list[PriorityPolicies]:
    """Every priority with its current revision and the older ones (who, when, note)."""
    for code in Priority.values:
        policy_current(code)  # a fresh database gets the defaults, as new requests would
    revisions = SlaPolicy.objects.select_related("created_by").order_by("priority", "-version")
    by_priority: dict[str, list[SlaPolicy]] = {}
    for revision in revisions:
        by_priority.setdefault(revision.priority, []).append(revision)
    overview = []
    for code, label in Priority.choices:
        rows = by_priority.get(code, [])
        current = next(r for r in rows if r.is_current)
        overview.append(PriorityPolicies(code, label, current, [r for r in rows if not r.is_current]))
    return overview


def sla_policy_fields(policy: SlaPolicy) -> dict[str, Any]:
    """The goal settings of a revision, as a draft starts from them."""
    return {name: getattr(policy, name) for name in POLICY_FIELDS}


# --- the draft -------------------------------------------------------------------------------------------
def _priority(priority: str) -> str:
    if priority not in Priority.values:
        raise NotFound(
            f"No priority {priority!r}.", fields={"priority": f"Choose one of {', '.join(Priority.values)}."}
        )
    return priority


def sla_policy_draft(*, priority: str, fields: Mapping[str, Any]) -> SlaPolicy:
    """An unsaved revision of `priority`'s policy with `fields`, checked by the model's own rules (`full_clean`)."""
    current = policy_current(_priority(priority))
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationFailed(
            "Unknown policy settings.", fields=dict.fromkeys(sorted(unknown), "Not a policy setting.")
        )
    draft = SlaPolicy(priority=priority, version=current.version + 1, **{**sla_policy_fields(current), **fields})
    try:
        # As `sla_policy_revise` does: the current revision is still current until the draft is saved.
        draft.full_clean(exclude=["is_current", "version"])
    except ValidationError as exc:
        raise ValidationFailed("Please correct the highlighted fields.", fields=exc.message_dict) from exc
    return draft


# --- the what-if -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Compliance:
    """SLA clocks of one measure that were met on time and that were breached; pending ones are not counted."""

    met: int = 0
    breached: int = 0

    @property
    def percent(self) -> Decimal | None:
        total = self.met + self.breached
        return (Decimal(100 * self.met) / total).quantize(Decimal("0.01")) if total else None


@dataclass(frozen=True)
class ClockChange:
    """An open clock whose due time the draft would move."""

    reference: str
    clock: str
    measure: str
    due_before: datetime | None
    due_after: datetime | None

    @property
    def earlier(self) -> bool:
        return self.due_before is not None and self.due_after is not None and self.due_after < self.due_before

    @property
    def label(self) -> str:
        return f"{Clock(self.clock).label} {Measure(self.measure).label.lower()}"


@dataclass(frozen=True)
class WhatIf:
    """What a draft would have done to the last quarter's requests of its priority, and to the open clocks now."""

    priority: str
    draft: SlaPolicy
    current: SlaPolicy
    since: datetime
    until: datetime
    requests: int
    before: dict[str, Compliance]
    after: dict[str, Compliance]
    changes: list[ClockChange] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.changes)

    @property
    def earlier(self) -> int:
        return sum(1 for c in self.changes if c.earlier)

    @property
    def later(self) -> int:
        return len(self.changes) - self.earlier

    def measures(self) -> list[tuple[str, Compliance, Compliance]]:
        """(label, as it was, under the draft) per measure, for a page."""
        return [(Measure(m).label, self.before[m], self.after[m]) for m in (Measure.RESPONSE, Measure.RESOLUTION)]


def _with_ledgers(requests: QuerySet[ServiceRequest], *, clocks: bool = False) -> Iterator[ServiceRequest]:
    """The requests with their ledgers in order (`ledger_rows`) and, if asked, their stored clocks: two queries
    per chunk instead of two per request."""
    ledger = ClockLedgerEntry.objects.select_related("policy").order_by("at", "pk")
    lookups: list[Any] = [Prefetch("clock_ledger", queryset=ledger, to_attr="ledger_rows")]
    if clocks:
        lookups.append("clocks")
    prefetched = requests.select_related("environment__calendar").prefetch_related(*lookups)
    yield from prefetched.order_by("pk").iterator(chunk_size=200)


def _snapshot(clock: str, measure: str, computed: tuple) -> ClockSnapshot:
    figures, policy, goal = computed
    return ClockSnapshot(
        clock=clock,
        measure=measure,
        started_at=figures.started_at,
        met_at=figures.met_at,
        ended_at=figures.ended_at,
        due_at=figures.due_at,
        at_risk_at=figures.at_risk_at,
        paused_since=figures.paused_since,
        goal=goal,
        elapsed=figures.elapsed,
        breached=figures.breached,
        policy_version=policy.version,
        vendor_slug=None,
    )


def sla_compliance(clocks: Iterable[RequestClock | ClockSnapshot], *, now: datetime) -> dict[str, Compliance]:
    """Met and breached requester SLA clocks per measure, as each reads at `now` (`sla.selectors.clock_reading`:
    met on time, or breached: met or ended late, or still running or paused past its goal)."""
    counts: dict[str, dict[str, int]] = {m: {"met": 0, "breached": 0} for m in Measure.values}
    for row in clocks:
        if row.clock != Clock.SLA:
            continue
        status = clock_reading(row, now)["status"]
        if status == ClockStatus.MET:
            counts[row.measure]["met"] += 1
        elif status == ClockStatus.BREACHED:
            counts[row.measure]["breached"] += 1
    return {m: Compliance(**c) for m, c in counts.items()}


def quarter_requests(priority: str, *, now: datetime) -> QuerySet[ServiceRequest]:
    """The requests of `priority` filed in the 13 weeks up to `now`: whose compliance the what-if replays."""
    return ServiceRequest.objects.filter(priority=priority, created_at__gte=now - QUARTER, created_at__lt=now)


def sla_policy_what_if(*, priority: str, fields: Mapping[str, Any], now: datetime | None = None) -> WhatIf:
    """Replay the ledger of the last quarter's requests of `priority` under the draft and under the revisions they
    ran under, and the open requests' clocks under the draft: what saving it (and applying it to open requests)
    would change. Writes nothing."""
    now = now or timezone.now()
    draft = sla_policy_draft(priority=priority, fields=fields)
    before: list[ClockSnapshot] = []
    after: list[ClockSnapshot] = []
    cohort = 0
    for service_request in _with_ledgers(quarter_requests(priority, now=now)):
        rows = service_request.ledger_rows  # type: ignore[attr-defined]  # the prefetch's to_attr
        own = sla_compute(service_request, entries=rows)
        drafted = sla_compute(service_request, entries=rows, policy=draft)
        before += [_snapshot(clock, measure, computed) for (clock, measure), computed in own.items()]
        after += [_snapshot(clock, measure, computed) for (clock, measure), computed in drafted.items()]
        cohort += 1
    changes = []
    open_requests = ServiceRequest.objects.filter(priority=priority, state__in=OPEN_STATES)
    for service_request in _with_ledgers(open_requests, clocks=True):
        drafted = sla_compute(service_request, entries=service_request.ledger_rows, policy=draft)  # type: ignore[attr-defined]
        for stored in service_request.clocks.all():
            if stored.started_at is None or stored.met_at or stored.ended_at:
                continue  # only clocks still running or paused have a due time to move
            due_after = drafted[(stored.clock, stored.measure)][0].due_at
            if due_after != stored.due_at:
                changes.append(
                    ClockChange(str(service_request.reference), stored.clock, stored.measure, stored.due_at, due_after)
                )
    changes.sort(key=lambda c: (c.reference, c.clock != Clock.SLA, c.measure))
    return WhatIf(
        priority=priority,
        draft=draft,
        current=policy_current(priority),
        since=now - QUARTER,
        until=now,
        requests=cohort,
        before=sla_compliance(before, now=now),
        after=sla_compliance(after, now=now),
        changes=changes,
    )


# --- saving ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Revision:
    """A saved revision and the open requests whose clocks were moved onto it."""

    policy: SlaPolicy
    applied_to: str
    retargeted: list[str]


def _audit_view(policy: SlaPolicy) -> dict[str, Any]:
    return {"version": policy.version, **sla_policy_fields(policy)}


@transaction.atomic
def sla_policy_save(
    *,
    actor: User,
    priority: str,
    fields: Mapping[str, Any],
    reason: str,
    apply_to: str = ApplyTo.NEW,
    based_on_version: int | None = None,
) -> Revision:
    """Save the next revision of `priority`'s policy; with `apply_to="open"`, retarget the clocks of its open
    requests onto it (each gets an "SLA recomputed" entry on its timeline). Recorded in the change history."""
    if not can_manage(actor):
        raise Forbidden("Only the program manager revises SLA policies.")
    reason = require_reason(reason)
    if apply_to not in (ApplyTo.NEW, ApplyTo.OPEN):
        raise ValidationFailed("Choose whom the revision applies to.", fields={"apply_to": "Choose new or open."})
    draft = sla_policy_draft(priority=priority, fields=fields)
    previous = SlaPolicy.objects.select_for_update().get(priority=priority, is_current=True)
    if based_on_version is not None and previous.version != based_on_version:
        raise Conflict(
            f"{priority}'s policy was revised (now version {previous.version}) after you drafted this; "
            "look at the what-if again.",
            fields={"based_on_version": f"The current version is {previous.version}."},
        )
    policy = sla_policy_revise(
        priority=priority, actor=actor, note=reason[:200], **{name: getattr(draft, name) for name in POLICY_FIELDS}
    )
    policy.refresh_from_db()  # the goals as stored (0.5 reads back as 0.50), for the record and the answer
    retargeted = []
    if apply_to == ApplyTo.OPEN:
        open_requests = ServiceRequest.objects.filter(priority=priority, state__in=OPEN_STATES)
        for service_request in open_requests.select_related("environment__calendar").order_by("pk"):
            # The engine's own "re-apply the current policy": a retarget entry in the ledger, the clocks rewritten,
            # and the moved due times on the request's timeline.
            sla_replay_apply(service_request, under="current", actor=actor)
            retargeted.append(service_request.reference)
    record_change(
        actor=actor,
        area=Area.SLA_POLICY,
        action=f"Revised {priority} policy",
        obj=policy,
        reason=reason,
        before=_audit_view(previous),
        after={**_audit_view(policy), "applied_to": apply_to, "retargeted_requests": len(retargeted)},
    )
    return Revision(policy=policy, applied_to=apply_to, retargeted=retargeted)
