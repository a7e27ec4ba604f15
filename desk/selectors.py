"""The desk's reads: urgency order, the sortable columns, quick filters and the filter values a user may pick.

The browser lists and the API call the same functions, so a sort or a quick filter means one thing everywhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from portal.compiled import CompiledList
from requests_app.choices import OPEN_STATES, RequestState
from requests_app.compiled_scope import markers, scope_of, stand_in
from requests_app.models import Environment, ServiceRequest, Team, Vendor
from requests_app.permissions import is_staff_side
from sla.selectors import SLA_STATUS_CHOICES, requests_with_sla_status

if TYPE_CHECKING:
    from portal.models import User

# --- order -------------------------------------------------------------------------------------------------
# Urgency: the SLA clock that runs out next (`next_due_at`, kept by the SLA ledger), soonest first. A clock that
# is already overdue has the earliest due time of all, so breached rows come first, most overdue first; rows with
# no running clock (paused, finished) follow. Ties go by id so pages never repeat or skip a row.
URGENCY = (F("next_due_at").asc(nulls_last=True), F("id").asc())
URGENCY_REVERSED = (F("next_due_at").desc(nulls_first=True), F("id").desc())


@dataclass(frozen=True)
class Column:
    """A sortable column: its label and the request field it sorts by (then urgency, then id)."""

    label: str
    field: str | None  # None: the urgency column itself


# Each column sorts by its field, then urgency, then id; the reverse reverses all three, so both read one index
# (`requests_app.models.ServiceRequest.Meta.indexes`) forwards or backwards. Related rows (environment, vendor,
# assignee, team) group by their id, not their name: sorting by a name would join and sort the whole table.
COLUMNS: dict[str, Column] = {
    "sla": Column("SLA", None),
    "reference": Column("Reference", "reference"),
    "title": Column("Title", "title"),
    "state": Column("State", "state"),
    "priority": Column("Priority", "priority"),
    "type": Column("Type", "request_type"),
    "environment": Column("Environment", "environment_id"),
    "vendor": Column("Vendor", "vendor_id"),
    "assignee": Column("Assignee", "assignee_id"),
    "team": Column("Team", "team_id"),
    "created": Column("Filed", "created_at"),
}
DEFAULT_SORT = "sla"


def sort_key(value: str | None) -> str:
    """A valid sort (`sla`, `-priority`, …); anything else is the default, urgency."""
    name = (value or "").strip()
    return name if name.lstrip("-") in COLUMNS else DEFAULT_SORT


def requests_sorted(queryset: QuerySet[ServiceRequest], sort: str | None) -> QuerySet[ServiceRequest]:
    """`queryset` in the order `sort` names (`-` reverses), stable: ties go by urgency, then id."""
    key = sort_key(sort)
    descending = key.startswith("-")
    column = COLUMNS[key.lstrip("-")]
    if column.field is None:
        return queryset.order_by(*(URGENCY_REVERSED if descending else URGENCY))
    if column.field == "reference":  # unique: nothing to break ties with
        return queryset.order_by(
            F("reference").desc() if descending else F("reference").asc(), "-id" if descending else "id"
        )
    lead = F(column.field).desc(nulls_first=True) if descending else F(column.field).asc(nulls_last=True)
    return queryset.order_by(lead, *(URGENCY_REVERSED if descending else URGENCY))


def requests_by_urgency(queryset: QuerySet[ServiceRequest]) -> QuerySet[ServiceRequest]:
    """The queues' default order: breached first, then the least time left on any running SLA clock."""
    return queryset.order_by(*URGENCY)


# --- quick filters -----------------------------------------------------------------------------------------
# "At risk" and "breached" are the SLA filter's `at_risk_open` and `breached_open` (sla.selectors): the same rows,
# the same words, as the dashboard tiles and the lists' `sla_status=`.
QUICK_SLA_STATUS = {"at_risk": "at_risk_open", "breached": "breached_open"}
QUICK_FILTERS: dict[str, str] = {
    "mine": "Mine",
    "unassigned": "Unassigned",
    **{name: dict(SLA_STATUS_CHOICES)[status] for name, status in QUICK_SLA_STATUS.items()},
    "waiting": "Waiting on requester",
    "blocked": "Blocked",
}


def requests_quick(
    queryset: QuerySet[ServiceRequest], name: str, *, user: User, now: datetime
) -> QuerySet[ServiceRequest]:
    """`queryset` narrowed by one quick filter (an unknown name leaves it as it is).

    mine: assigned to me or filed by me; unassigned: open with nobody assigned; at risk / breached: open requests
    whose requester-facing SLA is at risk / breached now (`requests_with_sla_status`, one definition for the
    lists, the dashboard and the desk); waiting: waiting on the requester; blocked: escalated and blocked."""
    match name:
        case "mine":
            return queryset.filter(Q(assignee=user) | Q(requester=user))
        case "unassigned":
            return queryset.filter(state__in=OPEN_STATES, assignee__isnull=True)
        case "at_risk" | "breached":
            return requests_with_sla_status(queryset, QUICK_SLA_STATUS[name], now)
        case "waiting":
            return queryset.filter(state=RequestState.WAITING_ON_REQUESTER)
        case "blocked":
            return queryset.filter(state=RequestState.BLOCKED)
    return queryset


# --- what a user may filter by ----------------------------------------------------------------------------
def _seen(user: User, field: str) -> Exists:
    return Exists(ServiceRequest.objects.visible_to(user).filter(**{field: OuterRef("pk")}))


def vendor_choices(user: User) -> QuerySet[Vendor]:
    """Vendors the user may filter by: all for staff, their own for a vendor's people, else those of requests
    they can see. A vendor engineer never sees another vendor listed."""
    if is_staff_side(user):
        return Vendor.objects.all()
    if user.vendor_id:
        return Vendor.objects.filter(pk=user.vendor_id)
    return Vendor.objects.filter(_seen(user, "vendor"))


def assignee_choices(user: User) -> QuerySet[Any]:
    """Engineers the user may filter by: any vendor's for staff, their own vendor's, else those on requests they
    can see."""
    users = get_user_model().objects.filter(is_active=True, vendor__isnull=False).order_by("username")
    if is_staff_side(user):
        return users
    if user.vendor_id:
        return users.filter(vendor_id=user.vendor_id)
    return users.filter(_seen(user, "assignee"))


def team_choices(user: User) -> QuerySet[Team]:
    """Teams the user may filter by: all for staff, else those of requests they can see."""
    if is_staff_side(user):
        return Team.objects.all()
    return Team.objects.filter(_seen(user, "team"))


def environment_choices(user: User) -> QuerySet[Environment]:
    """Every environment: which environments exist is no secret."""
    return Environment.objects.all()


Pairs = list[tuple[str, str]]


@dataclass(frozen=True)
class FilterChoices:
    """What the filter bar and the bulk bar offer, as (value, label) pairs."""

    vendors: Pairs
    engineers: Pairs
    environments: Pairs
    teams: Pairs


def _cached(reads: dict[str, tuple[str | None, Callable[[], Pairs]]]) -> dict[str, Pairs]:
    """Each `read()` of `reads` (name -> (scope key, read)), served again for PORTICO_DESK_CHOICES_CACHE_SECONDS to
    every user of the same scope key (None: a per-user answer derived from the requests they see, never cached).
    The kept ones are fetched in one round trip (a page asked the cache three or four times)."""
    seconds = settings.PORTICO_DESK_CHOICES_CACHE_SECONDS
    keys = {name: f"desk:choices:{key}" for name, (key, _read) in reads.items() if key is not None and seconds > 0}
    kept = cache.get_many(list(keys.values())) if keys else {}
    out = {}
    for name, (_key, read) in reads.items():
        pairs = kept.get(keys[name]) if name in keys else None
        if pairs is None:
            pairs = read()
            if name in keys:
                cache.set(keys[name], pairs, seconds)
        out[name] = pairs
    return out


# The choices derived from the requests a user sees, compiled once per scope (`requests_app.compiled_scope`):
# building `visible_to` into an EXISTS for each page cost more CPU than the query took to run.
_COMPILED_CHOICES: dict[tuple[str, str, bool], CompiledList] = {}


def _derived(name: str, user: User, choices: Callable[[User], QuerySet[Any]], *columns: str) -> list[tuple[Any, ...]]:
    """`choices(user).values_list(*columns)`, through a query compiled for the user's scope."""
    scope = scope_of(user)
    if scope is None:
        return list(choices(user).values_list(*columns))
    vendor = scope == "vendor"
    compiled = _COMPILED_CHOICES.get((name, scope, vendor))
    if compiled is None:
        someone = stand_in(scope, vendor=vendor)
        compiled = _COMPILED_CHOICES[name, scope, vendor] = CompiledList(
            lambda **_: choices(someone).values_list(*columns), markers(scope, vendor=vendor)
        )
    return compiled.rows(user=user.pk, vendor=user.vendor_id)


def _person(username: str, first: str, last: str) -> tuple[str, str]:
    """(username, `get_full_name()` or the username)."""
    return username, f"{first} {last}".strip() or username


def filter_choices(user: User) -> FilterChoices:
    """`vendor_choices`, `assignee_choices`, `environment_choices` and `team_choices` as pairs. Those that are the
    same for a whole scope (staff: everything; a vendor's people: their vendor and its engineers; everyone: the
    environments) are read once per scope and kept a few seconds: on a list page they were four of its queries.
    Choices derived from the requests a user sees are read for each page, as before."""
    staff = is_staff_side(user)
    scope = "all" if staff else f"vendor:{user.vendor_id}" if user.vendor_id else None
    reads: dict[str, tuple[str | None, Callable[[], Pairs]]] = {
        "vendors": (
            scope and f"vendors:{scope}",
            lambda: _pairs(_derived("vendors", user, vendor_choices, "slug", "name")),
        ),
        "engineers": (
            scope and f"engineers:{scope}",
            lambda: [
                _person(*names)
                for names in _derived("engineers", user, assignee_choices, "username", "first_name", "last_name")
            ],
        ),
        "environments": ("environments", lambda: [(e.code, e.name) for e in environment_choices(user)]),
        "teams": (
            "teams:all" if staff else None,
            lambda: _pairs(_derived("teams", user, team_choices, "slug", "name")),
        ),
    }
    return FilterChoices(**_cached(reads))


def _pairs(rows: list[tuple[Any, ...]]) -> Pairs:
    return [(value, label) for value, label in rows]


# --- one list -----------------------------------------------------------------------------------------------
# Orderings the API offered before the desk's columns; still honoured, ties by id.
LEGACY_ORDERINGS = frozenset({"response_due_at", "resolution_due_at", "created_at"})


def requests_ordered(queryset: QuerySet[ServiceRequest], value: str | None) -> QuerySet[ServiceRequest]:
    """`requests_sorted`, also taking the API's older `ordering=response_due_at` style names."""
    name = (value or "").strip()
    if name.lstrip("-") in LEGACY_ORDERINGS:
        return queryset.order_by(name, "-id" if name.startswith("-") else "id")
    return requests_sorted(queryset, name)
