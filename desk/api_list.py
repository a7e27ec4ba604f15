"""The API's request list through SQL compiled once per process for each shape of list (issue 17).

Building the filtered list (the filter set, the visibility condition, the order) and compiling its SQL twice (the
page's, and without its order for the planner's estimate and the count) was ~3.6 ms of CPU a call, though that SQL
depends only on the list's shape: the viewer's scope (`requests_app.compiled_scope`), which filters are given (and
how many values a many-valued one has, and which quick filter), the order and, for cursor pages, the cursor's
direction, which of its values are empty and the page size. Each shape is built once, through the same filter set,
`visible_to` and `requests_ordered` as `desk.lists.requests_list`, for a stand-in user with markers where the
user's and vendor's ids and the filters' values go (`portal.compiled.CompiledList`); a call binds its own values.

Filters whose SQL holds the time now or ids worked out in Python (`sla_status`, `state_group`, `quick=at_risk` and
`breached`, `search`) and `q` (its value is wrapped in `%…%`) keep the ordinary path, as do viewers the gate shows
nothing and databases other than PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import django_filters
from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import F, Lookup, QuerySet
from django.http import QueryDict
from django_filters.constants import EMPTY_VALUES

from portal.api.keyset import Key, branches_after, keys_of
from portal.api.pagination import CompiledPages, PortalPagination, counted
from portal.api.rows import PlainRow, row_maker
from portal.compiled import CompiledList
from requests_app.compiled_scope import markers, scope_of, stand_in
from requests_app.filtersets import KeyFilter, UtcIsoDateTimeFilter
from requests_app.models import ServiceRequest

from .filtersets import DeskFilterSet
from .selectors import LEGACY_ORDERINGS, requests_ordered, sort_key

if TYPE_CHECKING:
    from portal.models import User

# Quick filters whose SQL holds only constants and the user's id; at risk and breached hold the time now.
COMPILED_QUICK = frozenset({"mine", "unassigned", "waiting", "blocked"})
# The ids a cursor page is read by: one array parameter whatever their number.
IDS_MARKER = [-7_300_101]
CURSOR_LIMIT = PortalPagination.page_size + 1  # a cursor page reads one row more than it shows


class _AnyOf(Lookup):
    """`lhs = ANY(%s::<its type>[])` with a list as its one parameter (PostgreSQL): `__in` writes a placeholder per
    value, so its SQL would differ with the number of ids. The cast keeps the comparison on the column's own type
    (and index) whatever array type the driver sends."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        column_type = self.lhs.output_field.rel_db_type(connection)
        return f"{lhs} = ANY({rhs}::{column_type}[])", (*lhs_params, *rhs_params)


def _value_marker(kind: str, index: int) -> Any:
    """A stand-in value of `kind` that no query holds otherwise, found again among compiled parameters."""
    if kind == "datetime":
        return datetime(1, 1, 1, tzinfo=UTC) + timedelta(microseconds=7_300 + index)
    if kind == "int":
        return -7_300_200 - index
    return f"\x00apilist:{index}"


def _kind(key: Key) -> str:
    field = ServiceRequest._meta.get_field(key.field)
    internal = getattr(field, "target_field", field).get_internal_type()
    if internal == "DateTimeField":
        return "datetime"
    if internal in ("AutoField", "BigAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField"):
        return "int"
    if internal in ("CharField", "TextField", "SlugField"):
        return "str"
    raise ValueError(f"no marker for a cursor over {key.field} ({internal})")


@dataclass(frozen=True)
class _Plan:
    """What one call's parameters make of the list: its filters' shape and the values bound to their markers."""

    filters: tuple[tuple[str, Any], ...]  # (name, number of values or the quick filter's name or None), in order
    values: dict[str, Any]  # marker name -> this call's value
    order: str


def _plan(params: QueryDict) -> _Plan | None:
    """The shape and values of `params`' filters (validated: a 400 if invalid); None for a list left to the
    ordinary path."""
    cleaned = DeskFilterSet.cleaned(params)
    if params.get("search"):  # ranked best match first, or matched by ids worked out in Python
        return None
    filters: list[tuple[str, Any]] = []
    values: dict[str, Any] = {}
    for name, value in cleaned.items():
        given = DeskFilterSet.base_filters[name]
        if isinstance(given, django_filters.MultipleChoiceFilter):
            if not value:
                continue
            distinct = list(dict.fromkeys(value))  # the filter ORs over set(value): order does not matter
            if given.null_value in distinct:
                return None
            filters.append((name, len(distinct)))
            values.update({f"f:{name}:{index}": one for index, one in enumerate(distinct)})
        elif value in EMPTY_VALUES:
            continue
        elif name == "quick" and value in COMPILED_QUICK:
            filters.append((name, value))
        elif isinstance(given, KeyFilter) or (isinstance(given, UtcIsoDateTimeFilter) and isinstance(value, datetime)):
            filters.append((name, None))
            values[f"f:{name}"] = value
        else:
            return None
    name = (params.get("ordering") or params.get("sort") or "").strip()
    order = name if name.lstrip("-") in LEGACY_ORDERINGS else sort_key(name)
    return _Plan(tuple(filters), values, order)


def _filter_markers(filters: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """The stand-in value of each filter's marker (strings or instants: the filters' own kinds)."""
    found: dict[str, Any] = {}
    for index, (name, shape) in enumerate(filters):
        given = DeskFilterSet.base_filters[name]
        if isinstance(given, django_filters.MultipleChoiceFilter):
            found.update({f"f:{name}:{i}": f"\x00apilist:{name}:{i}" for i in range(shape)})
        elif isinstance(given, UtcIsoDateTimeFilter):
            found[f"f:{name}"] = _value_marker("datetime", 100 + index)
        elif name != "quick":
            found[f"f:{name}"] = f"\x00apilist:{name}"
    return found


class _Shape:
    """One shape's compiled queries: the page (rows as `PlainRow`s), the list's ids (estimate and count) and,
    for cursor pages, the first page and the pages after a position in each order and page size."""

    def __init__(self, build: Callable[[], QuerySet[ServiceRequest]], found: dict[str, Any], *, cursor: bool) -> None:
        self.build = build
        self.markers = found
        self.paged = CompiledList(lambda **_: build(), found, every=True)
        self.counted = CompiledList(lambda **_: counted(build()), found, every=True)
        self.keys = keys_of(build()) if cursor else []
        self.kinds = [_kind(key) for key in self.keys]
        self._makers: dict[int, Callable[[Any], PlainRow]] = {}
        self._first: dict[tuple[Key, ...], CompiledList] = {}
        self._after: dict[tuple[tuple[Key, ...], tuple[bool, ...], int], tuple[CompiledList, bool, CompiledList]] = {}

    def plain(self, compiled: CompiledList, using: str, rows: list[tuple[Any, ...]]) -> list[PlainRow]:
        make = self._makers.get(id(compiled))
        if make is None:
            make = self._makers[id(compiled)] = row_maker(compiled.compiler(using))
        return [make(row) for row in rows]

    def _ordered(self, keys: tuple[Key, ...]) -> QuerySet[ServiceRequest]:
        return self.build().order_by(*(key.order() for key in keys))

    def first(self, keys: tuple[Key, ...]) -> CompiledList:
        compiled = self._first.get(keys)
        if compiled is None:
            compiled = self._first[keys] = CompiledList(lambda **_: self._ordered(keys), self.markers, every=True)
        return compiled

    def after(
        self, keys: tuple[Key, ...], empty: tuple[bool, ...], limit: int
    ) -> tuple[CompiledList, bool, CompiledList] | None:
        """(the ids of the rows after a position, whether that query is one branch to LIMIT, the rows by those
        ids) for positions whose values are empty where `empty` says; None when no row can follow."""
        key = (keys, empty, limit)
        compiled = self._after.get(key)
        if compiled is not None:
            return compiled
        pairs = enumerate(zip(self.kinds, empty, strict=True))
        position = [None if none else _value_marker(kind, i) for i, (kind, none) in pairs]
        conditions = branches_after(list(keys), position)
        if not conditions:
            return None
        found = {**self.markers, **{f"p:{i}": value for i, value in enumerate(position) if value is not None}}

        def ids() -> QuerySet[Any]:
            ordered = self._ordered(keys)
            branches = [ordered.filter(condition).values_list("pk", flat=True) for condition in conditions]
            if len(branches) == 1:
                return branches[0]  # LIMITed when run
            return branches[0][:limit].union(*(branch[:limit] for branch in branches[1:]), all=True)

        single = len(conditions) == 1
        by_ids = CompiledList(
            lambda **_: self._ordered(keys).filter(_AnyOf(F("pk"), IDS_MARKER)),
            {**self.markers, "ids": IDS_MARKER},
            every=True,
        )
        compiled = self._after[key] = (CompiledList(lambda **_: ids(), found, every=True), single, by_ids)
        return compiled

    def after_compiled(self, keys: tuple[Key, ...], empty: tuple[bool, ...], limit: int, using: str) -> None:
        """Compile `after(keys, empty, limit)`'s queries now: a ValueError if a marker is not found."""
        compiled = self.after(keys, empty, limit)
        if compiled is not None:
            compiled[0].compile(using)
            compiled[2].compile(using)


_SHAPES: dict[Hashable, _Shape | None] = {}  # None: the shape's markers were not all found; the ordinary path


def _shape(
    key: Hashable, build: Callable[[], QuerySet[ServiceRequest]], found: dict[str, Any], using: str, cursor: bool
) -> _Shape | None:
    if key in _SHAPES:
        return _SHAPES[key]
    try:
        shape = _Shape(build, found, cursor=cursor)
        shape.paged.compile(using)
        shape.counted.compile(using)
        if cursor:  # the cursor's markers checked now, for the usual page size
            shape.after_compiled(tuple(shape.keys), (False,) * len(shape.keys), CURSOR_LIMIT, using)
    except (ValueError, EmptyResultSet):  # a marker not found, or a list Django knows is empty: not compiled
        shape = None
    _SHAPES[key] = shape
    return shape


class CompiledRequestList(CompiledPages):
    """One call's list: a shape's compiled queries with this call's values."""

    model = ServiceRequest

    def __init__(self, shape: _Shape, values: dict[str, Any], using: str) -> None:
        self.shape = shape
        self.values = values
        self.db = using
        self.keys = shape.keys

    def counted(self) -> tuple[str, list[Any]]:
        return self.shape.counted.statement(self.db, **self.values)

    def __getitem__(self, window: slice) -> list[Any]:
        start, stop = window.start or 0, window.stop
        if stop is None:
            raise ValueError("a compiled list is sliced with an end (a page)")
        if stop <= start:
            return []  # as a queryset's empty slice: no query
        paged = self.shape.paged
        rows = paged.rows(self.db, limit=stop - start, offset=start, **self.values)
        return self.shape.plain(paged, self.db, rows)

    def first(self, keys: list[Key], limit: int) -> list[Any]:
        compiled = self.shape.first(tuple(keys))
        return self.shape.plain(compiled, self.db, compiled.rows(self.db, limit=limit, **self.values))

    def after(self, keys: list[Key], position: list[Any], limit: int) -> list[Any]:
        compiled = self.shape.after(tuple(keys), tuple(value is None for value in position), limit)
        if compiled is None:
            return []
        ids, single, by_ids = compiled
        at = {f"p:{i}": value for i, value in enumerate(position) if value is not None}
        chosen = [row[0] for row in ids.rows(self.db, limit=limit if single else None, **self.values, **at)]
        if not chosen:
            return []  # `pk__in=[]` matches nothing, unasked
        rows = by_ids.rows(self.db, limit=limit, ids=chosen, **self.values)
        return self.shape.plain(by_ids, self.db, rows)


def requests_list_compiled(
    visible: Callable[[Any], QuerySet[ServiceRequest]], user: User, params: QueryDict, *, cursor: bool
) -> CompiledRequestList | None:
    """The list `desk.lists.requests_list(visible(user), params, …)` would give, as compiled queries with `user`'s
    and `params`' values bound (invalid filters are the same 400); None for a list that takes that ordinary path.
    `visible(user)` is the list's queryset before any filter (the gate, the joins); `cursor`: pages by cursor."""
    using = router.db_for_read(ServiceRequest)
    scope = scope_of(user)
    if scope is None or connections[using].vendor != "postgresql":
        return None
    plan = _plan(params)
    if plan is None:
        return None
    vendor = scope == "vendor"
    key = (visible, scope, vendor, plan.filters, plan.order, cursor)
    shape = _SHAPES.get(key)
    if shape is None and key not in _SHAPES:
        mine = ("quick", "mine") in plan.filters
        found = {**markers(scope, vendor=vendor, user_always=mine), **_filter_markers(plan.filters)}
        someone = stand_in(scope, vendor=vendor)

        def build() -> QuerySet[ServiceRequest]:
            queryset = visible(someone)
            filterset = DeskFilterSet(QueryDict(), queryset=queryset, request=cast(Any, SimpleNamespace(user=someone)))
            for name, shape_of in plan.filters:
                if isinstance(shape_of, int):
                    value: Any = [found[f"f:{name}:{i}"] for i in range(shape_of)]
                else:
                    value = shape_of if name == "quick" else found[f"f:{name}"]
                queryset = filterset.filters[name].filter(queryset, value)
            return requests_ordered(queryset, plan.order)

        shape = _shape(key, build, found, using, cursor)
    if shape is None:
        return None
    values = {
        name: user.pk if name == "user" else user.vendor_id for name in shape.markers if name in ("user", "vendor")
    }
    return CompiledRequestList(shape, {**values, **plan.values}, using)
