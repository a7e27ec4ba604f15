"""Demo data: the reference world (environments, vendors, people, routing) and generated request histories.

Used by `manage.py seed_demo` for the demo and, with `--requests N`, for benchmark-sized data sets.

Seeding is the one sanctioned exception to "every state change goes through the FSM services": it writes
*historical* rows (requests in any state, with the timeline that led there) straight to the tables, in bulk,
because replaying a million histories through the services would take hours and could not back-date them.
The generated timelines follow the workflow exactly (see `RequestStory`), so they read like real ones.
"""

from __future__ import annotations

import io
import json
import random
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from portal.models import User
from requests_app.roles import EGOV_DEVOPS, PROGRAM_MANAGERS, Role, ensure_role_groups
from sla.choices import Clock, LedgerKind
from sla.models import ClockLedgerEntry, RequestClock, SlaPolicy
from sla.policies import policy_current
from sla.services import clock_rows, due_times_of, ledger_for_step, sla_compute

from .catalogue import Approval, request_type_spec, request_types
from .choices import FINAL_STATES, EventKind, OnboardingStatus, Priority, RequestState, RequestType, VendorRole
from .models import (
    Environment,
    Notification,
    RequestEvent,
    RoutingRule,
    ServiceRequest,
    Stack,
    Team,
    Vendor,
    VendorOnboarding,
)
from .routing import routing_suggest

S = RequestState
K = EventKind

DEMO_PASSWORD = "portico-demo"  # noqa: S105 — a published demo password, printed on purpose
DEMO_LOGINS: dict[str, str] = {
    Role.REQUESTER.label: "requester",
    Role.VENDOR_ENGINEER.label: "engineer",
    Role.VENDOR_LEAD.label: "lead",
    Role.PROGRAM_MANAGER.label: "pm",
    Role.EGOV_DEVOPS.label: "egov",
}
DEMO_EMAIL_DOMAIN = "portico.example"

ENVIRONMENTS = [  # code, name, Jira project
    ("internal", "Internal", "INT"),
    ("punjab", "Punjab", "PB"),
    ("ap", "Andhra Pradesh", "AP"),
    ("bihar", "Bihar", "BR"),
]
STACKS = [("microservices", "Microservices"), ("erp", "ERP"), ("coex", "Co-Ex"), ("portal", "Portal")]
VENDORS = [("optit", "OptIT"), ("gwl", "GWL"), ("macroskies", "MacroSkies")]
# Mostly live, but not everywhere, so "only live vendors receive an environment's requests" shows.
ONBOARDING = {
    ("optit", "internal"): OnboardingStatus.LIVE,
    ("optit", "punjab"): OnboardingStatus.LIVE,
    ("optit", "ap"): OnboardingStatus.LIVE,
    ("optit", "bihar"): OnboardingStatus.TRAINING,
    ("gwl", "internal"): OnboardingStatus.LIVE,
    ("gwl", "punjab"): OnboardingStatus.LIVE,
    ("gwl", "ap"): OnboardingStatus.LIVE,
    ("gwl", "bihar"): OnboardingStatus.LIVE,
    ("macroskies", "internal"): OnboardingStatus.SHORTLISTED,
    ("macroskies", "punjab"): OnboardingStatus.EVALUATING,
    ("macroskies", "ap"): OnboardingStatus.TRAINING,
    ("macroskies", "bihar"): OnboardingStatus.LIVE,
}
TEAMS = [
    ("mgramseva", "mGramSeva"),
    ("sanitation", "Sanitation"),
    ("property-tax", "Property Tax"),
    ("birth-death", "Birth & Death Registration"),
    ("hrms-finance", "HRMS & Finance ERP"),
]
# username, first name, last name, vendor slug (or ""), vendor role, teams, groups
PEOPLE: list[tuple[str, str, str, str, str, tuple[str, ...], tuple[str, ...]]] = [
    ("requester", "Asha", "Verma", "", "", ("mgramseva",), ()),
    ("kiran", "Kiran", "Bedi", "", "", ("mgramseva",), ()),
    ("naveen", "Naveen", "Reddy", "", "", ("mgramseva", "property-tax"), ()),
    ("farah", "Farah", "Khan", "", "", ("sanitation",), ()),
    ("gurpreet", "Gurpreet", "Singh", "", "", ("sanitation",), ()),
    ("lakshmi", "Lakshmi", "Naidu", "", "", ("property-tax",), ()),
    ("suresh", "Suresh", "Yadav", "", "", ("property-tax",), ()),
    ("anita", "Anita", "Kumari", "", "", ("birth-death",), ()),
    ("rohit", "Rohit", "Sinha", "", "", ("birth-death",), ()),
    ("deepa", "Deepa", "Pillai", "", "", ("hrms-finance",), ()),
    ("vikram", "Vikram", "Chauhan", "", "", ("hrms-finance",), ()),
    ("engineer", "Ravi", "Kumar", "optit", VendorRole.ENGINEER, (), ()),
    ("optit-sneha", "Sneha", "Patil", "optit", VendorRole.ENGINEER, (), ()),
    ("optit-imran", "Imran", "Shaikh", "optit", VendorRole.ENGINEER, (), ()),
    ("lead", "Meera", "Iyer", "optit", VendorRole.LEAD, (), ()),
    ("gwl-arun", "Arun", "Nair", "gwl", VendorRole.ENGINEER, (), ()),
    ("gwl-pooja", "Pooja", "Desai", "gwl", VendorRole.ENGINEER, (), ()),
    ("gwl-lead", "Sanjay", "Gupta", "gwl", VendorRole.LEAD, (), ()),
    ("macroskies-neha", "Neha", "Joshi", "macroskies", VendorRole.ENGINEER, (), ()),
    ("macroskies-amit", "Amit", "Mishra", "macroskies", VendorRole.ENGINEER, (), ()),
    ("macroskies-lead", "Kavita", "Rao", "macroskies", VendorRole.LEAD, (), ()),
    ("pm", "Priya", "Menon", "", "", (), (PROGRAM_MANAGERS,)),
    ("egov", "Arjun", "Rao", "", "", (), (EGOV_DEVOPS,)),
    ("egov-sre", "Fatima", "Sheikh", "", "", (), (EGOV_DEVOPS,)),
]
# request type (or "" for any), environment (or None), stack (or None) → vendor
ROUTING = [
    ("", "internal", None, "optit", "Internal platform work goes to OptIT"),
    ("", "punjab", None, "optit", "Punjab default"),
    ("", "ap", None, "gwl", "Andhra Pradesh default"),
    ("", "bihar", None, "macroskies", "Bihar default"),
    (RequestType.CI_PIPELINE, None, None, "gwl", "GWL runs the CI pipelines everywhere they are live"),
    (RequestType.ACCESS_OPS, "punjab", None, "optit", "Access in Punjab"),
    (RequestType.PRODUCTION_ISSUE, "bihar", "erp", "gwl", "Bihar ERP production issues"),
    (RequestType.RELEASE, "ap", "microservices", "optit", "AP microservice releases"),
]


@dataclass
class DemoWorld:
    """The reference data requests are generated against, loaded once so generation needs no queries."""

    environments: list[Environment]
    stacks: list[Stack]
    teams: list[Team]
    team_members: dict[int, list[int]]
    live_vendors: dict[int, list[Vendor]]
    engineers: dict[int, list[int]]
    leads: dict[int, list[int]]
    program_managers: list[int]
    egov_devops: list[int]
    _suggestions: dict[tuple[str, int, int | None], Vendor | None] = field(default_factory=dict)
    _policies: dict[str, SlaPolicy] = field(default_factory=dict)

    def policy(self, priority: str) -> SlaPolicy:
        """The current SLA policy of a priority, asked once."""
        if priority not in self._policies:
            self._policies[priority] = policy_current(priority)
        return self._policies[priority]

    def suggest(self, request_type: str, environment: Environment, stack: Stack | None) -> Vendor | None:
        """The routing rules' choice, asked of `routing_suggest` once per combination."""
        key = (request_type, environment.pk, stack.pk if stack else None)
        if key not in self._suggestions:
            probe = ServiceRequest(request_type=request_type, environment=environment, stack=stack)
            self._suggestions[key] = routing_suggest(probe)
        return self._suggestions[key]


@transaction.atomic
def demo_world_ensure() -> DemoWorld:
    """Create or refresh the demo's environments, stacks, vendors, people, teams and routing (idempotent)."""
    environments = {
        code: Environment.objects.update_or_create(
            code=code, defaults={"name": name, "timezone": "Asia/Kolkata", "jira_project_key": jira}
        )[0]
        for code, name, jira in ENVIRONMENTS
    }
    stacks = {code: Stack.objects.update_or_create(code=code, defaults={"name": name})[0] for code, name in STACKS}
    vendors = {
        slug: Vendor.objects.update_or_create(
            slug=slug, defaults={"name": name, "contact_email": f"support@{slug}.{DEMO_EMAIL_DOMAIN}"}
        )[0]
        for slug, name in VENDORS
    }
    for (vendor_slug, env_code), status in ONBOARDING.items():
        VendorOnboarding.objects.update_or_create(
            vendor=vendors[vendor_slug], environment=environments[env_code], defaults={"status": status}
        )
    teams = {slug: Team.objects.update_or_create(slug=slug, defaults={"name": name})[0] for slug, name in TEAMS}

    ensure_role_groups()
    groups = {group.name: group for group in Group.objects.filter(name__in=[PROGRAM_MANAGERS, EGOV_DEVOPS])}
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is deliberately slow
    people: dict[str, User] = {}
    for username, first, last, vendor_slug, vendor_role, team_slugs, group_names in PEOPLE:
        user, _ = User.objects.update_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@{DEMO_EMAIL_DOMAIN}",
                "vendor": vendors.get(vendor_slug),
                "vendor_role": vendor_role,
                "is_active": True,
                "password": password,
            },
        )
        user.groups.add(*(groups[name] for name in group_names))
        for slug in team_slugs:
            teams[slug].members.add(user)
        people[username] = user
    User.objects.update_or_create(
        username="admin",
        defaults={
            "first_name": "Portico",
            "last_name": "Admin",
            "email": f"admin@{DEMO_EMAIL_DOMAIN}",
            "is_staff": True,
            "is_superuser": True,
            "password": password,
        },
    )

    for request_type, env_code, stack_code, vendor_slug, note in ROUTING:
        RoutingRule.objects.update_or_create(
            request_type=request_type,
            environment=environments.get(env_code) if env_code else None,
            stack=stacks.get(stack_code) if stack_code else None,
            defaults={"vendor": vendors[vendor_slug], "is_active": True, "note": note},
        )

    by_vendor_role: dict[tuple[int, str], list[int]] = {}
    for user in people.values():
        if user.vendor_id:
            by_vendor_role.setdefault((user.vendor_id, user.vendor_role), []).append(user.pk)
    live: dict[int, list[Vendor]] = {}
    for (vendor_slug, env_code), status in ONBOARDING.items():
        if status == OnboardingStatus.LIVE:
            live.setdefault(environments[env_code].pk, []).append(vendors[vendor_slug])
    return DemoWorld(
        environments=list(environments.values()),
        stacks=list(stacks.values()),
        teams=list(teams.values()),
        team_members={team.pk: sorted(team.members.values_list("pk", flat=True)) for team in teams.values()},
        live_vendors=live,
        engineers={v.pk: by_vendor_role.get((v.pk, VendorRole.ENGINEER), []) for v in vendors.values()},
        leads={v.pk: by_vendor_role.get((v.pk, VendorRole.LEAD), []) for v in vendors.values()},
        program_managers=[people["pm"].pk],
        egov_devops=[people["egov"].pk, people["egov-sre"].pk],
    )


# --- generated histories ----------------------------------------------------------------------------------
# How the demo's requests are spread over the states; the first ten requests take one of each, so even a
# tiny seed shows every state.
STATE_WEIGHTS = {
    S.SUBMITTED: 8,
    S.PENDING_APPROVAL: 5,
    S.QUEUED: 10,
    S.IN_PROGRESS: 14,
    S.WAITING_ON_REQUESTER: 6,
    S.BLOCKED: 5,
    S.RESOLVED: 8,
    S.CLOSED: 32,
    S.REJECTED: 6,
    S.CANCELLED: 6,
}
PRIORITY_WEIGHTS = {Priority.P0: 5, Priority.P1: 15, Priority.P2: 40, Priority.P3: 28, Priority.P4: 12}
ENVIRONMENT_WEIGHTS = {"internal": 1, "punjab": 3, "ap": 2, "bihar": 2}
WINDOW = timedelta(weeks=8)
# Large seeds (benchmarks) look like a service desk that has been running for a while: about this many
# requests filed a week, spread back as far as the count needs, and only the last few weeks' worth still in
# flight. Without it a million requests would all be filed in eight weeks with half of them open.
WEEKLY_INTAKE = 6_400
ACTIVE_WEEKS = 8

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
        self.state = S.SUBMITTED
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

    def _pick(self, options: list[Any]) -> Any:
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
        return STORY_PACE[priority]

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

    def _engineer(self, *, other_than: int | None = None) -> int:
        engineers = [pk for pk in self.world.engineers[self.vendor.pk] if pk != other_than]
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
        elif episode == "reassign" and len(self.world.engineers[self.vendor.pk]) > 1:
            new = self._engineer(other_than=self.assignee_id)
            actor = self._pick([*self.world.leads[self.vendor.pk], self.pm_id])
            payload = {
                "vendor": {"from": self.vendor.pk, "to": self.vendor.pk},
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
        vendor_id = self.vendor.pk if self.vendor else None
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
        return [ClockLedgerEntry(service_request_id=pk, measure=e.pop("measure", ""), **e) for e in entries]

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
            vendor_id=self.vendor.pk if self.vendor else None,
        )
        computed = sla_compute(probe, entries=ledger)
        response_due, resolution_due = due_times_of(computed)
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
            vendor_id=self.vendor.pk if self.vendor else None,
            assignee_id=self.assignee_id,
            needed_by=needed_by,
            state=self.state,
            response_due_at=response_due,
            resolution_due_at=resolution_due,
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


def _spread(count: int) -> tuple[timedelta, float]:
    """The history window of `count` generated requests and the share of them drawn from every state (the
    rest are finished ones): small seeds keep the eight-week window with every state well represented."""
    window = max(WINDOW, timedelta(weeks=count / WEEKLY_INTAKE))
    active = min(1.0, ACTIVE_WEEKS * WEEKLY_INTAKE / count) if count else 1.0
    return window, active


def _targets_for(count: int, rng: random.Random) -> Iterator[str]:
    """The state each generated request ends in. A small seed takes one of each first, then draws from every
    state; a large one draws its finished requests first and the recent, every-state share last."""
    states = list(STATE_WEIGHTS)
    finished = [state for state in states if state in FINAL_STATES]
    _window, active = _spread(count)
    recent = count if active >= 1 else round(count * active)
    for _ in range(count - recent):
        yield rng.choices(finished, weights=[STATE_WEIGHTS[state] for state in finished])[0]
    for index in range(recent):
        yield states[index] if index < len(states) else rng.choices(states, weights=list(STATE_WEIGHTS.values()))[0]


# --- writing ----------------------------------------------------------------------------------------------
def _next_id(model: type[models.Model]) -> int:
    """The first id to use: past every id the table's sequence ever handed out, so no reference is reused."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [model._meta.db_table])
            return int(cursor.fetchone()[0])
    return (model.objects.aggregate(top=Max("id"))["top"] or 0) + 1


def _reset_sequences(*models_: type[models.Model]) -> None:
    """Move the id sequences past the explicit ids we wrote, so the next filed request gets a fresh number."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _copy_value(value: Any) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds()} seconds"
    if isinstance(value, dict | list):
        value = json.dumps(value)
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _write(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert rows with their explicit ids: COPY on PostgreSQL (fast enough for millions), bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=2000)
        return
    # Columns the generator does not fill (added by later features) get their model default.
    columns = [f for f in model._meta.concrete_fields]
    defaults = {f.attname: f.get_default() for f in columns if f.attname not in rows[0]}
    buffer = io.StringIO()
    for row in rows:
        buffer.write(
            "\t".join(_copy_value(row[f.attname] if f.attname in row else defaults[f.attname]) for f in columns)
        )
        buffer.write("\n")
    buffer.seek(0)
    names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN", buffer)


def demo_requests_generate(
    world: DemoWorld,
    *,
    count: int,
    seed: int = 2026,
    batch_size: int = 20_000,
    progress: Callable[[int], None] | None = None,
) -> Counter[str]:
    """Write `count` requests with consistent histories in bulk, committing batch by batch; returns per-state counts."""
    rng = random.Random(seed)  # noqa: S311 — demo data, not secrets
    now = timezone.now()
    states: Counter[str] = Counter()
    targets = _targets_for(count, rng)
    window, active = _spread(count)
    # A large seed's finished requests fill the window oldest first, each in a slot of its own, and each batch is
    # written in filing order: ids grow with time as in production, so a week's rows sit together on disk.
    finished = 0 if active >= 1 else count - round(count * active)
    slot = window / finished if finished else timedelta(0)
    written = 0
    while written < count:
        size = min(batch_size, count - written)
        with transaction.atomic():
            request_pk, event_pk = _next_id(ServiceRequest), _next_id(RequestEvent)
            ledger_pk, clock_pk = _next_id(ClockLedgerEntry), _next_id(RequestClock)
            requests, events, ledger, clocks = [], [], [], []
            stories = []
            for index, target in enumerate(_take(targets, size), start=written):
                story = RequestStory(rng, world, now, target, window=window)
                story.build()
                story.place((window - slot * (index + 1), window - slot * index) if index < finished else None)
                stories.append(story)
            stories.sort(key=lambda story: story.created)
            for story in stories:
                request, story_events, story_ledger, story_clocks = story.rows(request_pk, event_pk)
                requests.append(request)
                events.extend(story_events)
                for entry in story_ledger:
                    ledger.append(_ledger_row(entry, ledger_pk, now))
                    ledger_pk += 1
                for clock in story_clocks:
                    clocks.append({**clock, "id": clock_pk, "updated_at": now})
                    clock_pk += 1
                states[story.state] += 1
                request_pk += 1
                event_pk += len(story_events)
            _write(ServiceRequest, requests)
            _write(RequestEvent, events)
            _write(ClockLedgerEntry, ledger)
            _write(RequestClock, clocks)
            _reset_sequences(ServiceRequest, RequestEvent, ClockLedgerEntry, RequestClock)
        written += size
        if progress:
            progress(written)
    return states


def _ledger_row(entry: ClockLedgerEntry, pk: int, now: datetime) -> dict[str, Any]:
    return {
        "id": pk,
        "service_request_id": entry.service_request_id,
        "clock": entry.clock,
        "measure": entry.measure,
        "kind": entry.kind,
        "at": entry.at,
        "vendor_id": entry.vendor_id,
        "policy_id": entry.policy_id,
        "reason": entry.reason,
        "created_at": now,
    }


def _take(iterator: Iterator[str], size: int) -> Iterable[str]:
    for _ in range(size):
        yield next(iterator)


def demo_requests_wipe() -> None:
    """Remove every request with its events, notifications and anything else hanging off a request."""
    # RequestEvent refuses delete() by design (the audit trail is append-only), so a demo reset goes below the
    # ORM: TRUNCATE ... CASCADE on PostgreSQL, raw DELETEs children-first elsewhere. Only for demo databases.
    doomed = _dependents(ServiceRequest)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in doomed)
            with connection.cursor() as cursor:
                # Deferred foreign-key checks still pending in this transaction would make TRUNCATE refuse.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            return
        for model in doomed:
            model.objects.all()._raw_delete(using=connection.alias)


def _dependents(root: type[models.Model]) -> list[type[models.Model]]:
    """`root` and every model that points at it, directly or through another, children before parents."""
    order: list[type[models.Model]] = []

    def visit(model: type[models.Model], path: frozenset[type[models.Model]]) -> None:
        if model in path:  # a cycle: its rows go with the first visit
            return
        for relation in model._meta.get_fields(include_hidden=True):
            if relation.auto_created and not relation.concrete and (relation.one_to_many or relation.one_to_one):
                visit(relation.related_model, path | {model})
        if model not in order:
            order.append(model)

    visit(root, frozenset())
    return order


def demo_summary() -> dict[str, Any]:
    """Counts for the command's closing report."""
    return {
        "environments": Environment.objects.count(),
        "vendors": Vendor.objects.count(),
        "teams": Team.objects.count(),
        "users": User.objects.count(),
        "requests": ServiceRequest.objects.count(),
        "events": RequestEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "by_state": dict(ServiceRequest.objects.values_list("state").annotate(n=models.Count("pk")).order_by()),
    }
