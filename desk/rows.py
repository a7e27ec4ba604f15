"""The rows of the desk's request table as plain values, and the table's body written out in Python.

A list page opened without filters (the queue, the request list: how most people open them) reads its page and its
count through queries compiled once per process (`portal.compiled.CompiledList`, built through `visible_to` with a
stand-in user: `requests_app.compiled_scope`), and fetches only the columns the table shows. Rendering each cell
through the template language (a variable lookup, a filter, `{% url %}`) was a quarter of the page's time; the
body below is the same HTML as `requests_app/partials/request_rows.html` byte for byte
(`desk/tests/test_rows.py` renders both), which stays as its reference.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import get_current_timezone, localtime

from portal.compiled import CompiledList
from portal.id_list import IdIn
from portal.timefmt import time_html
from requests_app.compiled_scope import markers, scope_of, stand_in
from requests_app.models import ServiceRequest
from requests_app.templatetags.portico import clocks_for, priority_label, state_class, state_label, type_label
from sla.selectors import clock_snapshots

from .selectors import requests_sorted, sort_key
from .templatetags.desk import next_clock

if TYPE_CHECKING:
    from portal.models import User

# What a row shows, in this order.
ROW_FIELDS = (
    "id",
    "reference",
    "title",
    "state",
    "priority",
    "request_type",
    "created_at",
    "team__name",
    "environment__name",
    "vendor__name",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
)


@dataclass(slots=True)
class DeskRow:
    """One request as the table shows it (related rows by name; None where there is none)."""

    pk: int
    reference: str
    title: str
    state: str
    priority: str
    request_type: str
    created_at: datetime
    team: str
    environment: str
    vendor: str | None
    assignee: str | None
    clock_snapshots: list[Any] = field(default_factory=list)
    search_snippet: str | None = None


def _person(username: str | None, first: str | None, last: str | None) -> str | None:
    """`str(user)`: the full name, else the username."""
    if username is None:
        return None
    return f"{first} {last}".strip() or username


def row_from_values(values: tuple[Any, ...]) -> DeskRow:
    pk, reference, title, state, priority, request_type, created_at, team, environment, vendor, *assignee = values
    return DeskRow(
        pk, reference, title, state, priority, request_type, created_at, team, environment, vendor, _person(*assignee)
    )


def row_from_instance(service_request: ServiceRequest) -> DeskRow:
    """A row from a model instance (the filtered and searched lists still read those), with its clocks and its
    search snippet if the view set them."""
    return DeskRow(
        service_request.pk,
        cast(str, service_request.reference),
        service_request.title,
        service_request.state,
        service_request.priority,
        service_request.request_type,
        service_request.created_at,
        str(service_request.team),
        str(service_request.environment),
        None if service_request.vendor is None else str(service_request.vendor),
        None if service_request.assignee is None else str(service_request.assignee),
        getattr(service_request, "clock_snapshots", None) or [],
        getattr(service_request, "search_snippet", None),
    )


@dataclass(frozen=True)
class RowShape:
    """What a compiled list page reads of each request (`fields`) and the row it makes of them (`make`)."""

    fields: tuple[str, ...]
    make: Callable[[tuple[Any, ...]], Any]


DESK_ROWS = RowShape(ROW_FIELDS, row_from_values)


# --- the unfiltered lists, compiled ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DeskSource:
    """Which requests a list shows, on top of what the user may see: `narrow(visible, user)`. `by_vendor`: it
    narrows by the user's vendor."""

    narrow: Callable[[Any, Any], QuerySet[ServiceRequest]]  # (a ServiceRequestQuerySet, the user)
    by_vendor: bool = False

    def queryset(self, user: User) -> QuerySet[ServiceRequest]:
        """The list for `user` as a queryset (the filtered lists build on it)."""
        return self.narrow(ServiceRequest.objects.visible_to(user).with_related(), user)


@dataclass(frozen=True)
class _Compiled:
    rows: CompiledList
    counted: CompiledList
    names: tuple[str, ...]

    def values(self, user: Any) -> dict[str, Any]:
        """The user's values for the markers."""
        return {name: user.pk if name == "user" else user.vendor_id for name in self.names}


_COMPILED: dict[tuple[int, str, bool, str, tuple[str, ...]], _Compiled] = {}


def compiled_list(source: DeskSource, user: Any, sort: str, fields: tuple[str, ...] = ROW_FIELDS) -> _Compiled | None:
    """The page and count queries of `source` for users of `user`'s scope in order `sort`, compiled on first use;
    None when the user sees nothing (the page then takes the ordinary path). The page's rows are `fields` (the
    desk table's by default; the triage inbox reads a few more)."""
    scope = scope_of(user)
    if scope is None or (source.by_vendor and not user.vendor_id):
        return None
    vendor = scope == "vendor" or source.by_vendor
    sort = sort_key(sort)
    key = (id(source), scope, vendor, sort, fields)
    compiled = _COMPILED.get(key)
    if compiled is None:
        found = markers(scope, vendor=vendor)
        someone = stand_in(scope, vendor=vendor)

        def base() -> QuerySet[ServiceRequest]:
            return source.narrow(ServiceRequest.objects.visible_to(someone), someone)

        compiled = _COMPILED[key] = _Compiled(
            rows=CompiledList(lambda **_: requests_sorted(base(), sort).values_list(*fields), found),
            counted=CompiledList(lambda **_: base().order_by().values_list("id"), found),
            names=tuple(found),
        )
    return compiled


# A ranked search's page (`ServiceRequestQuerySet.ranked_ids`): its requests by id, with each description for the
# snippets. The window's ids were found visible when it was read, so the ids are the whole condition.
_IDS_MARKER = [-7_300_301]
_BY_IDS = CompiledList(
    lambda ids: ServiceRequest.objects.filter(IdIn(F("pk"), ids)).order_by().values_list(*ROW_FIELDS, "description"),
    {"ids": _IDS_MARKER},
)


def rows_by_ids(ids: list[int], using: str = "default") -> list[tuple[DeskRow, str]]:
    """The desk rows of the requests `ids`, in that order, each with its description; a request gone since is left
    out. The same rows as `row_from_instance` makes of the requests (`desk/tests/test_rows.py`)."""
    if not ids:
        return []
    found = {values[0]: values for values in _BY_IDS.rows(using, ids=ids)}
    return [(row_from_values(values[:-1]), values[-1]) for pk in ids if (values := found.get(pk)) is not None]


def attach_clocks(rows: list[Any]) -> None:
    """Each row's clocks (`clock_snapshots`), in one query (rows with `pk` and `clock_snapshots`: `DeskRow`,
    `desk.triage.TriageRow`)."""
    if not rows:
        return
    by_request = clock_snapshots(row.pk for row in rows)
    for row in rows:
        row.clock_snapshots = by_request[row.pk]


# --- the table's body -------------------------------------------------------------------------------------------
def _url_maker(name: str, *args: str) -> Callable[[str], str]:
    """`reverse(name, args=[reference, *args])` for any reference, reversed once (references are URL-safe)."""
    placeholder = "REQ-0PLACEHOLDER0"
    head, _, tail = reverse(name, args=[placeholder, *args]).partition(placeholder)
    return lambda reference: f"{head}{_e(reference)}{tail}"


def _e(value: Any) -> str:
    """`{{ value }}` under autoescape for the plain values of a row (none is marked safe): Django's `escape`
    without its lazy-string wrapper, which cost more than the escaping."""
    return html.escape(str(value))


@lru_cache(maxsize=1024)
def _label(value: str | None, empty: str = "") -> str:
    """`_e` for the few values a column repeats (states, priorities, types, teams, vendors, people)."""
    return _e(empty if value is None else value)


def render_rows(
    rows: Iterable[DeskRow | ServiceRequest],
    *,
    bulk: bool,
    pick_up: bool,
    vendor: bool,
    next_path: str,
    csrf_input: str,
    now: datetime,
) -> SafeString:
    """The `<tr>`s of the desk table, as `requests_app/partials/request_rows.html` writes them (`csrf_input`:
    what `{% csrf_token %}` writes; `vendor`: with the vendor column)."""
    detail = _url_maker("request-detail")
    pick = _url_maker("request-transition", "pick_up")
    next_value = _e(next_path)
    zone = get_current_timezone()  # read once for the page's times, as `localtime` and `time_html` would read it
    out = []
    for row in rows:
        if not isinstance(row, DeskRow):
            row = row_from_instance(row)
        reference = _e(row.reference)
        tick = (
            f'<td class="table__tick"><input type="checkbox" name="references" value="{reference}" form="bulk-form" '
            f'aria-label="Select {reference}"></td>'
            if bulk
            else ""
        )
        snippet = (
            f'<span class="search-snippet">{conditional_escape(row.search_snippet)}</span>'
            if row.search_snippet
            else ""
        )
        nxt = next_clock(clocks_for(row, now))  # type: ignore[arg-type]  # reads only `clock_snapshots`
        # `|date:'c'` is the ISO format of the (aware) time in the current zone.
        due = f' title="Due {_e(localtime(nxt.due_at, zone).isoformat())}"' if nxt.due_at else ""
        priority = _label(row.priority)
        vendor_cell = f"<td>{_label(row.vendor, 'not routed yet')}</td>" if vendor else ""
        action = ""
        if pick_up:
            form = ""
            if row.state == "queued":
                form = (
                    f'\n        <form method="post" action="{pick(row.reference)}">\n'
                    f"          {csrf_input}\n"
                    f'          <input type="hidden" name="next" value="{next_value}">\n'
                    f'          <button type="submit" class="button button--primary button--small">Pick up'
                    f'<span class="visually-hidden"> {reference}</span></button>\n'
                    f"        </form>\n        "
                )
            action = f'\n      <td class="table__action">\n        {form}\n      </td>\n      '
        out.append(
            f"\n    <tr data-row>\n      {tick}\n"
            f'      <th scope="row"><a href="{detail(row.reference)}">{reference}</a></th>\n'
            f"      <td>\n"
            f'        <span class="table__title">{_e(row.title)}</span>\n'
            f"        {snippet}\n"
            f'        <span class="table__sub">{_label(row.team)}</span>\n'
            f"      </td>\n"
            f'      <td><span class="{_label(state_class(row.state))}">'
            f"{_label(state_label(row.state))}</span></td>\n"
            f'      <td><span class="badge badge--{priority.lower()}" '
            f'title="{_label(priority_label(row.priority))}">{priority}</span></td>\n'
            f"      <td>{_label(type_label(row.request_type))}</td>\n"
            f"      <td>{_label(row.environment)}</td>\n"
            f"      {vendor_cell}\n"
            f"      <td>{_label(row.assignee, '—')}</td>\n"
            f'      <td><span class="sla sla--{_label(nxt.status)}" data-sla-next{due}>'
            f"{_e(nxt.text)}</span></td>\n"
            f"      <td>{time_html(row.created_at, 'short', tz=zone)}</td>\n"
            f"      {action}\n    </tr>\n    "
        )
    return mark_safe("".join(out))  # every value escaped above
