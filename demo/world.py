"""The demo's reference world: environments, stacks, vendors and their onboarding, teams, one login per role, and
routing rules, written idempotently by `demo_world_ensure`."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from backoffice.models import OnboardingStep
from portal.models import User
from requests_app.choices import OnboardingStatus, RequestType, VendorRole
from requests_app.models import Environment, RoutingRule, ServiceRequest, Stack, Team, Vendor, VendorOnboarding
from requests_app.roles import EGOV_DEVOPS, PROGRAM_MANAGERS, Role, ensure_role_groups
from requests_app.routing import routing_suggest
from sla.defaults import ensure_defaults
from sla.models import BusinessCalendar, SlaPolicy
from sla.policies import policy_current

DEMO_PASSWORD = "portico-demo"  # noqa: S105 — a published demo password, printed on purpose
DEMO_LOGINS: dict[str, str] = {
    Role.REQUESTER.label: "requester",
    Role.VENDOR_ENGINEER.label: "engineer",
    Role.VENDOR_LEAD.label: "lead",
    Role.PROGRAM_MANAGER.label: "pm",
    Role.EGOV_DEVOPS.label: "egov",
}
DEMO_EMAIL_DOMAIN = "portico.example"

ENVIRONMENTS = [  # code, name, Jira project, working calendar (sla/defaults.py; None: the national one)
    ("internal", "Internal", "INT", None),
    ("punjab", "Punjab", "PB", "punjab"),
    ("ap", "Andhra Pradesh", "AP", "andhra-pradesh"),
    ("bihar", "Bihar", "BR", "bihar"),
]
STACKS = [("microservices", "Microservices"), ("erp", "ERP"), ("coex", "Co-Ex"), ("portal", "Portal")]
VENDORS = [("optit", "OptIT"), ("gwl", "GWL"), ("macroskies", "MacroSkies")]
# Mostly live, but not everywhere, so "only live vendors receive an environment's requests" shows, and the board
# under /manage/onboarding/ has a vendor at most stages.
ONBOARDING = {
    ("optit", "internal"): OnboardingStatus.LIVE,
    ("optit", "punjab"): OnboardingStatus.LIVE,
    ("optit", "ap"): OnboardingStatus.LIVE,
    ("optit", "bihar"): OnboardingStatus.NDA_SIGNED,
    ("gwl", "internal"): OnboardingStatus.LIVE,
    ("gwl", "punjab"): OnboardingStatus.LIVE,
    ("gwl", "ap"): OnboardingStatus.LIVE,
    ("gwl", "bihar"): OnboardingStatus.LIVE,
    ("macroskies", "internal"): OnboardingStatus.SHORTLISTED,
    ("macroskies", "punjab"): OnboardingStatus.EVALUATION,
    ("macroskies", "ap"): OnboardingStatus.TRAINING,
    ("macroskies", "bihar"): OnboardingStatus.LIVE,
}
ONBOARDING_SEED_REASON = "Where the demo starts: onboarded this far before Portico kept the history."
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
    ensure_defaults()  # the state calendars, in a database flushed since its migration wrote them
    calendars = {calendar.slug: calendar for calendar in BusinessCalendar.objects.all()}
    environments = {
        code: Environment.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "timezone": "Asia/Kolkata",
                "jira_project_key": jira,
                "calendar": calendars[calendar] if calendar else None,
            },
        )[0]
        for code, name, jira, calendar in ENVIRONMENTS
    }
    stacks = {code: Stack.objects.update_or_create(code=code, defaults={"name": name})[0] for code, name in STACKS}
    vendors = {
        slug: Vendor.objects.update_or_create(
            slug=slug, defaults={"name": name, "contact_email": f"support@{slug}.{DEMO_EMAIL_DOMAIN}"}
        )[0]
        for slug, name in VENDORS
    }
    onboardings = [
        VendorOnboarding.objects.update_or_create(
            vendor=vendors[vendor_slug], environment=environments[env_code], defaults={"status": status}
        )[0]
        for (vendor_slug, env_code), status in ONBOARDING.items()
    ]
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

    for onboarding in onboardings:
        # One history entry, so each onboarding page says where the demo put it and by whom.
        if not onboarding.steps.exists():
            OnboardingStep.objects.create(
                onboarding=onboarding, to_stage=onboarding.status, actor=people["pm"], reason=ONBOARDING_SEED_REASON
            )

    for rule_type, rule_env, rule_stack, rule_vendor, note in ROUTING:
        RoutingRule.objects.update_or_create(
            request_type=rule_type or "",
            environment=environments.get(rule_env) if rule_env else None,
            stack=stacks.get(rule_stack) if rule_stack else None,
            defaults={"vendor": vendors[rule_vendor], "is_active": True, "note": note},
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
