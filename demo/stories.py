"""Generated request histories: one `RequestStory` per request, following the workflow step by step.

Seeding is the one sanctioned exception to "every state change goes through the FSM services": it writes
*historical* rows (requests in any state, with the timeline that led there) straight to the tables, in bulk,
because replaying a million histories through the services would take hours and could not back-date them.
The generated timelines follow the workflow exactly, so they read like real ones.
"""

from __future__ import annotations

import random
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings

from requests_app.catalogue import Approval, request_type_spec, request_types
from requests_app.choices import FINAL_STATES, EventKind, Priority, RequestState, RequestType
from requests_app.models import Environment, ServiceRequest, Stack, Team, Vendor
from sla.choices import Clock, LedgerKind
from sla.models import ClockLedgerEntry, RequestClock
from sla.services import clock_rows, ledger_for_step, request_sla_columns, sla_compute

from .world import DemoWorld

S = RequestState
K = EventKind

PRIORITY_WEIGHTS = {Priority.P0: 5, Priority.P1: 15, Priority.P2: 40, Priority.P3: 28, Priority.P4: 12}
ENVIRONMENT_WEIGHTS = {"internal": 1, "punjab": 3, "ap": 2, "bihar": 2}
# How far back a small seed files its requests (large seeds stretch it, see `demo.seed._spread`).
WINDOW = timedelta(weeks=8)

DESCRIPTIONS = [
    "Raised by the {team} team for {env}. Details and logs are in the team channel; please reach out for access.",
    "We need this for the upcoming rollout in {env}. The {stack} stack is affected.",
    "Blocking the {team} team's sprint. Happy to pair on a call if that helps.",
]
QUESTIONS = ["Which cluster and namespace is this for?", "Can you share the failing pipeline run?", "Who approves?"]
ANSWERS = ["The UAT cluster, namespace as in the description.", "Link shared in the comment above.", "Our team lead."]
BLOCKERS = ["Cloud quota exhausted in the region", "Waiting for a firewall change", "Needs a production DB change"]
RESOLUTIONS = [
    "Done and verified with the team.",
    "Applied through the GitOps repository; the pipeline is green.",
    "Root cause fixed and a runbook entry added.",
]
REJECTIONS = ["Duplicate of an existing request", "Out of scope for eGov DevOps; please ask the product team"]
DENIALS = ["Access of this scope needs a signed NDA first", "Production change outside the release window"]
COMMENTS = ["Any update on this?", "Looking into it now.", "Thanks, checking on our side.", "Shared logs by e-mail."]
INTERNAL_NOTES = ["Needs a senior engineer.", "Customer is escalating informally; keep an eye on it."]


# How long pick-up and resolution roughly take in wall time per priority: only to pace generated stories.
STORY_PACE = {
    Priority.P0: (timedelta(hours=4), timedelta(hours=24)),
    Priority.P1: (timedelta(hours=2), timedelta(hours=12)),
    Priority.P2: (timedelta(days=1), timedelta(days=4)),
    Priority.P3: (timedelta(days=2), timedelta(days=14)),
    Priority.P4: (timedelta(days=6), timedelta(days=21)),
}


@dataclass
class _Step:
    at: timedelta  # after filing
    kind: str
    actor_id: int | None
    from_state: str = ""
    to_state: str = ""
    message: str = ""
    internal: bool = False
    payload: dict[str, Any] = field(default_factory=dict)


def _between(rng: random.Random, low: timedelta, high: timedelta) -> timedelta:
    return low + (high - low) * rng.random()


class RequestStory:
    """One request's life up to its target state, as the workflow would have produced it."""

    def __init__(
        self, rng: random.Random, world: DemoWorld, now: datetime, target: str, *, window: timedelta = WINDOW
    ) -> None:
        self.rng, self.world, self.now, self.target, self.window = rng, world, now, target, window
        self.steps: list[_Step] = []
        self.state: str = S.SUBMITTED
        self.t = timedelta(0)
        self.fields: dict[str, Any] = {"reopen_count": 0, "resolution_note": ""}
        self.assignee_id: int | None = None
        self.vendor: Vendor | None = None

    # -- building blocks
    def _add(self, gap: timedelta, kind: str, actor_id: int | None, *, to: str = "", **extra: Any) -> timedelta:
        self.t += max(gap, timedelta(minutes=1))
        from_state = self.state if to else ""
        self.steps.append(_Step(self.t, kind, actor_id, from_state, to, **extra))
        if to:
            self.state = to
        if to in FINAL_STATES:
            self.fields["closed_at"] = self.t
        return self.t

    def _pick(self, options: Sequence[Any]) -> Any:
        return options[int(self.rng.random() * len(options))]

    def _weighted(self, weights: dict[Any, int]) -> Any:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    # -- the plot
    def build(self) -> None:
        rng, world, target = self.rng, self.world, self.target
        by_code = {env.code: env for env in world.environments}
        environment = by_code[self._weighted(ENVIRONMENT_WEIGHTS)]
        team = self._pick(world.teams)
        stack = None if rng.random() < 0.1 else self._pick(world.stacks)
        denied = target == S.REJECTED and rng.random() < 0.4
        request_type, affects_production = self._type(sensitive=target == S.PENDING_APPROVAL or denied)
        priority = self._weighted(PRIORITY_WEIGHTS)
        self.initial_priority = priority
        self.requester_id = self._pick(world.team_members[team.pk])
        self.pm_id = self._pick(world.program_managers)
        self.fields.update(
            environment=environment,
            team=team,
            stack=stack,
            request_type=request_type,
            affects_production=affects_production,
            priority=priority,
            requester_id=self.requester_id,
            title=self._text(self._pick(request_type_spec(request_type).demo_titles), team, environment, stack)[:200],
            description=self._text(self._pick(DESCRIPTIONS), team, environment, stack),
        )
        # Targets from the SLA policy, measured from an arbitrary start; the real due times are computed
        # again once the filing time is known.
        self.needed_by_days = rng.randint(21, 35) if priority == Priority.P4 else None
        self.probe = self.now - WINDOW
        self.response_target, self.resolution_target = self._targets(self.probe, priority, environment)

        suggestion = world.suggest(request_type, environment, stack)
        filed = _Step(timedelta(0), K.FILED, self.requester_id, to_state=S.SUBMITTED)
        filed.payload = {"suggested_vendor": suggestion.slug if suggestion else None}
        self.steps.append(filed)
        if target == S.SUBMITTED:
            return
        if target == S.REJECTED and not denied:
            self._add(
                _between(rng, timedelta(minutes=30), timedelta(days=1)),
                K.REJECT,
                self.pm_id,
                to=S.REJECTED,
                message=self._pick(REJECTIONS),
            )
            return
        if target == S.CANCELLED and rng.random() < 0.5:
            self._add(
                _between(rng, timedelta(hours=1), timedelta(days=2)),
                K.CANCEL,
                self.requester_id,
                to=S.CANCELLED,
                message="No longer needed.",
            )
            return
        self._triage(suggestion, environment)
        if self.state == S.PENDING_APPROVAL:
            if target == S.PENDING_APPROVAL:
                return
            approver = self._pick(world.egov_devops)
            if denied:
                self._add(
                    _between(rng, timedelta(hours=1), timedelta(days=1)),
                    K.DENY,
                    approver,
                    to=S.REJECTED,
                    message=self._pick(DENIALS),
                )
                return
            fast = self.fields["priority"] in (Priority.P0, Priority.P1)
            gap = _between(rng, timedelta(minutes=10), timedelta(minutes=40) if fast else timedelta(hours=12))
            self._add(gap, K.APPROVE, approver, to=S.QUEUED)
        if target == S.QUEUED:
            return
        if target == S.CANCELLED:
            self._add(
                _between(rng, timedelta(hours=1), timedelta(days=3)),
                K.CANCEL,
                self.requester_id,
                to=S.CANCELLED,
                message="Solved it ourselves, thanks.",
            )
            return
        self._work()

    def _type(self, *, sensitive: bool) -> tuple[str, bool]:
        if sensitive:
            if self.rng.random() < 0.7:
                return RequestType.ACCESS_OPS, False
            return self._pick([RequestType.RELEASE, RequestType.PRODUCTION_ISSUE]), True
        spec = self._pick(request_types())
        production = spec.approval == Approval.WHEN_PRODUCTION and self.rng.random() < 0.3
        request_type = spec.code
        return request_type, production

    def _targets(self, start: datetime, priority: str, environment: Environment) -> tuple[timedelta, timedelta]:
        """Rough wall-clock goals that pace the story; the stored due times come from the SLA engine."""
        return STORY_PACE[Priority(priority)]

    def _needed_by(self, start: datetime, environment: Environment) -> date | None:
        if self.needed_by_days is None:
            return None
        return start.astimezone(zoneinfo.ZoneInfo(environment.timezone)).date() + timedelta(days=self.needed_by_days)

    @staticmethod
    def _text(template: str, team: Team, environment: Environment, stack: Stack | None) -> str:
        return template.format(team=team.name, env=environment.name, stack=stack.name if stack else "platform")

    def _triage(self, suggestion: Vendor | None, environment: Environment) -> None:
        rng = self.rng
        live = self.world.live_vendors[environment.pk]
        vendor = suggestion or self._pick(live)
        if rng.random() < 0.1:  # the program manager overrides the routing suggestion now and then
            vendor = self._pick(live)
        changes: dict[str, Any] = {}
        message = ""
        old = self.fields["priority"]
        if old in (Priority.P1, Priority.P2, Priority.P3) and rng.random() < 0.1:
            new = self._pick([p for p in (Priority.P0, Priority.P1, Priority.P2, Priority.P3) if p != old])
            changes["priority"] = {"from": str(old), "to": str(new)}
            message = "Production users are affected." if new < old else "Not urgent; a workaround exists."
            self.fields["priority"] = new
            self.response_target, self.resolution_target = self._targets(self.probe, new, environment)
        fast = self.fields["priority"] in (Priority.P0, Priority.P1)
        gap = _between(rng, timedelta(minutes=5), timedelta(minutes=45) if fast else timedelta(hours=8))
        needs_approval = request_type_spec(self.fields["request_type"]).needs_approval(
            affects_production=self.fields["affects_production"]
        )
        to = S.PENDING_APPROVAL if needs_approval else S.QUEUED
        self.fields["triaged_at"] = self._add(
            gap, K.TRIAGE, self.pm_id, to=to, message=message, payload={"vendor": vendor.slug, "changes": changes}
        )
        self.vendor = vendor

    def _vendor_id(self) -> int:
        if self.vendor is None:
            raise RuntimeError("The story has no vendor before triage.")
        return self.vendor.pk

    def _engineer(self, *, other_than: int | None = None) -> int:
        engineers = [pk for pk in self.world.engineers[self._vendor_id()] if pk != other_than]
        return self._pick(engineers)

    def _due_point(self, target: timedelta, breach_chance: float) -> timedelta:
        """When something happens relative to its SLA target: mostly in time, sometimes late."""
        factor = 1.05 + self.rng.random() * 1.2 if self.rng.random() < breach_chance else 0.1 + self.rng.random() * 0.85
        return target * factor

    def _work(self) -> None:
        rng, target = self.rng, self.target
        pick_up_at = max(self.t + timedelta(minutes=5), self._due_point(self.response_target, 0.2))
        self.assignee_id = self._engineer()
        self.fields["responded_at"] = self._add(pick_up_at - self.t, K.PICK_UP, self.assignee_id, to=S.IN_PROGRESS)
        resolve_at = max(self.t + timedelta(hours=1), self._due_point(self.resolution_target, 0.2))
        episodes = [self._pick(["comment", "comment", "info", "note", "reassign", "block"]) for _ in range(3)]
        episodes = episodes[: rng.randint(0, 3)]
        if target == S.WAITING_ON_REQUESTER:
            episodes.append("ask")
        elif target == S.BLOCKED:
            episodes.append("escalate")
        span = (resolve_at - self.t) / (len(episodes) + 1)
        for episode in episodes:
            self._episode(episode, span)
        if target in (S.IN_PROGRESS, S.WAITING_ON_REQUESTER, S.BLOCKED):
            return
        self._resolve(max(resolve_at - self.t, timedelta(minutes=20)))
        if target == S.RESOLVED:
            return
        if rng.random() < 0.12:  # reopened once, then fixed for good
            self._add(
                _between(rng, timedelta(hours=2), timedelta(days=3)),
                K.REOPEN,
                self.requester_id,
                to=S.IN_PROGRESS,
                message="Still failing for some users.",
            )
            self.fields.update(resolved_at=None, resolution_note="", reopen_count=1)
            self._resolve(_between(rng, timedelta(hours=2), timedelta(days=2)))
        if rng.random() < 0.3:
            days = settings.PORTICO_AUTO_CLOSE_AFTER_DAYS
            gap = timedelta(days=days) + _between(rng, timedelta(minutes=1), timedelta(minutes=15))
            self._add(gap, K.AUTO_CLOSE, None, to=S.CLOSED, message=f"No reply {days} days after resolution.")
        else:
            gap = _between(self.rng, timedelta(minutes=30), timedelta(days=4))
            self._add(gap, K.CONFIRM, self.requester_id, to=S.CLOSED, message="Thanks!")

    def _resolve(self, gap: timedelta) -> None:
        note = self._pick(RESOLUTIONS)
        self.fields["resolved_at"] = self._add(gap, K.RESOLVE, self.assignee_id, to=S.RESOLVED, message=note)
        self.fields["resolution_note"] = note

    def _episode(self, episode: str, span: timedelta) -> None:
        rng = self.rng
        gap = _between(rng, span * 0.3, span * 0.9)
        if episode == "comment":
            actor = self._pick([self.requester_id, self.assignee_id, self.pm_id])
            self._add(gap, K.COMMENT, actor, message=self._pick(COMMENTS))
        elif episode == "note":
            self._add(gap, K.COMMENT, self.assignee_id, message=self._pick(INTERNAL_NOTES), internal=True)
        elif episode in ("info", "ask"):
            self._add(gap, K.REQUEST_INFO, self.assignee_id, to=S.WAITING_ON_REQUESTER, message=self._pick(QUESTIONS))
            if episode == "info":
                self._add(gap / 2, K.PROVIDE_INFO, self.requester_id, to=S.IN_PROGRESS, message=self._pick(ANSWERS))
        elif episode in ("block", "escalate"):
            self._add(gap, K.ESCALATE, self.assignee_id, to=S.BLOCKED, message=self._pick(BLOCKERS))
            if episode == "block":
                self._add(
                    gap / 2, K.UNBLOCK, self._pick(self.world.egov_devops), to=S.IN_PROGRESS, message="Sorted out."
                )
        elif episode == "reassign" and len(self.world.engineers[self._vendor_id()]) > 1:
            new = self._engineer(other_than=self.assignee_id)
            actor = self._pick([*self.world.leads[self._vendor_id()], self.pm_id])
            payload = {
                "vendor": {"from": self._vendor_id(), "to": self._vendor_id()},
                "assignee": {"from": self.assignee_id, "to": new},
            }
            self._add(gap, K.REASSIGN, actor, to=S.IN_PROGRESS, message="Rebalancing the queue.", payload=payload)
            self.assignee_id = new

    # -- placing it in time
    def place(self, ago: tuple[timedelta, timedelta] | None = None) -> None:
        """Fix when it was filed: `ago` (finished stories of a large seed) says how long before now, else the
        last step is placed by `tail()`."""
        if ago is None:
            self.created = self.now - self.tail() - self.t
            return
        filed_ago = _between(self.rng, *ago)
        self.created = self.now - max(filed_ago - self.t, timedelta(minutes=5)) - self.t

    def tail(self) -> timedelta:
        """How long ago the last step happened, so the backlog looks like a real one."""
        total = self.t
        rng = self.rng
        if self.target == S.RESOLVED:  # still resolved: younger than the auto-close quiet period
            quiet = timedelta(days=settings.PORTICO_AUTO_CLOSE_AFTER_DAYS)
            return _between(rng, timedelta(minutes=10), quiet * 0.8)
        if self.target == S.SUBMITTED:
            return _between(rng, timedelta(minutes=5), timedelta(hours=36))
        if self.target in (S.PENDING_APPROVAL, S.QUEUED):
            return _between(rng, timedelta(minutes=5), timedelta(days=3))
        if self.target in (S.IN_PROGRESS, S.WAITING_ON_REQUESTER, S.BLOCKED):
            return _between(rng, timedelta(minutes=5), timedelta(days=5))
        return _between(rng, timedelta(minutes=5), max(self.window - total, timedelta(hours=1)))

    def _ledger(self, pk: int, created: datetime) -> list[ClockLedgerEntry]:
        """The clock events this history caused, by the same rule the live workflow uses."""
        vendor_id = self._vendor_id() if self.vendor else None
        entries = []
        for step in self.steps:
            at = created + step.at
            if step.kind == K.FILED:
                first = step.payload.get("initial_priority") or self.initial_priority
                entries.append(
                    {"clock": Clock.SLA, "kind": LedgerKind.START, "at": at, "policy": self.world.policy(first)}
                )
                continue
            if step.to_state:
                for entry in ledger_for_step(
                    name=step.kind,
                    before=step.from_state,
                    after=step.to_state,
                    vendor_id=vendor_id,
                    vendor_changed=False,
                ):
                    if entry["kind"] == LedgerKind.START:
                        entry["policy"] = self.world.policy(self.initial_priority)
                    entries.append({**entry, "at": at})
            changed = step.payload.get("changes", {}).get("priority") if step.kind == K.TRIAGE else None
            if changed:
                policy = self.world.policy(changed["to"])
                entries += [
                    {"clock": clock, "kind": LedgerKind.RETARGET, "at": at, "policy": policy, "reason": step.message}
                    for clock in (Clock.SLA, Clock.OLA)
                ]
        return [ClockLedgerEntry(service_request_id=pk, measure=str(e.pop("measure", "")), **e) for e in entries]

    def rows(
        self, pk: int, first_event_pk: int
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[ClockLedgerEntry], list[dict[str, Any]]]:
        """The request row, its events, its clock ledger and its clocks, with real timestamps and due times."""
        created = self.created
        environment = self.fields["environment"]
        needed_by = self._needed_by(created, environment)
        ledger = self._ledger(pk, created)
        probe = ServiceRequest(
            pk=pk,
            priority=self.fields["priority"],
            environment=environment,
            needed_by=needed_by,
            created_at=created,
            vendor_id=self._vendor_id() if self.vendor else None,
        )
        computed = sla_compute(probe, entries=ledger)
        clocks = clock_rows(probe, computed, ola_vendor_id=probe.vendor_id)
        request = {
            key: value
            for key, value in self.fields.items()
            if key not in ("environment", "team", "stack", "triaged_at", "responded_at", "resolved_at", "closed_at")
        }
        request.update(
            id=pk,
            reference=f"REQ-{pk:06d}",
            environment_id=environment.pk,
            team_id=self.fields["team"].pk,
            stack_id=self.fields["stack"].pk if self.fields["stack"] else None,
            vendor_id=self._vendor_id() if self.vendor else None,
            assignee_id=self.assignee_id,
            needed_by=needed_by,
            state=self.state,
            **request_sla_columns(RequestClock(**row) for row in clocks),
            created_at=created,
            updated_at=created + self.t,
            **{
                name: created + self.fields[name] if self.fields.get(name) is not None else None
                for name in ("triaged_at", "responded_at", "resolved_at", "closed_at")
            },
        )
        events = [
            {
                "id": first_event_pk + index,
                "service_request_id": pk,
                "actor_id": step.actor_id,
                "kind": str(step.kind),
                "from_state": str(step.from_state),
                "to_state": str(step.to_state),
                "message": step.message,
                "internal": step.internal,
                "payload": step.payload,
                "created_at": created + step.at,
            }
            for index, step in enumerate(self.steps)
        ]
        return request, events, ledger, clocks
