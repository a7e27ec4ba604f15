"""How API lists are cut into pages.

`PortalPagination` numbers pages and counts exactly: every list but the requests list. The requests list
(`RequestListPagination`, API 1.1) numbers pages too, counting exactly the lists PostgreSQL's planner puts under
`PORTICO_API_EXACT_COUNT_LIMIT` rows and estimating the rest, or, with `?pagination=cursor`, walks the list by
cursor with no count at all.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Page, Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.lookups import Exact, In
from django.db.models.sql.where import AND
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from portal.exceptions import ValidationFailed
from portal.id_list import IdIn

from .keyset import Key, keys_of, parse_position, position_of, rows_after


class PortalPagination(PageNumberPagination):
    """Page-numbered lists: 50 by default, `page_size` up to 200."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request: Request, paginator: Paginator) -> int | str:
        """A page number that is not a whole number is a bad request (400), not a missing page (404)."""
        page_number = super().get_page_number(request, paginator)
        if page_number in self.last_page_strings:
            return page_number
        if not (isinstance(page_number, int) or (page_number.isascii() and page_number.isdigit())):
            raise ValidationError({self.page_query_param: ["A page number is a whole number from 1, or “last”."]})
        return page_number


class CompiledPages(ABC):
    """A list whose SQL was compiled once for its shape (`desk.api_list`), with this call's values bound: what the
    requests list's paginators read instead of a queryset, running the same SQL a queryset of that list would. A
    slice reads those rows; `counted()` is the SQL the estimate and the count read; `keys`, `first()` and `after()`
    read cursor pages as `keyset.rows_after` does."""

    db: str
    model: type[Model]
    keys: list[Key]

    @abstractmethod
    def counted(self) -> tuple[str, list[Any]]:
        """The list's SQL as `counted(queryset)` would give it: its rows' ids, in no order."""
        raise NotImplementedError

    @abstractmethod
    def __getitem__(self, window: slice) -> list[Any]:
        raise NotImplementedError

    @abstractmethod
    def first(self, keys: list[Key], limit: int) -> list[Any]:
        """The first `limit` rows in the order of `keys`."""
        raise NotImplementedError

    @abstractmethod
    def after(self, keys: list[Key], position: list[Any], limit: int) -> list[Any]:
        """The first `limit` rows in the order of `keys` that sort after `position`."""
        raise NotImplementedError


# --- estimated counts --------------------------------------------------------------------------------------
def counted(queryset: QuerySet) -> QuerySet:
    """`queryset` as the estimate and the count read it: in no order and, but for a list whose columns decide which
    rows are one (DISTINCT, GROUP BY, UNION: those keep their SQL, and their estimate), only its ids and
    annotations. The same rows, without the `select_related` joins and the columns the page reads: on 1,000,000
    requests, planning and joining those was most of the time of a vendor's queued requests' count. A related row
    such a join reads never adds or removes one (a non-null key is an inner join to exactly one row, a nullable
    key an outer join), and a filter's own joins stay: they are its conditions."""
    unordered = queryset.order_by()
    query = unordered.query
    if query.distinct or query.group_by is not None or query.combinator:
        return unordered
    return unordered.values("pk", *query.annotation_select, *query.extra_select)


def planner_estimate(queryset: QuerySet) -> int | None:
    """PostgreSQL's row estimate for `queryset` (EXPLAIN, nothing run); None on other databases."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = counted(queryset).query.sql_with_params()
    except EmptyResultSet:  # `.none()`: nothing to plan
        return 0
    return _plan_rows(queryset.db, sql, params)


def _plan_rows(using: str, sql: str, params: Sequence[Any]) -> int:
    with connections[using].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def _id_list_bound(queryset: QuerySet) -> int | None:
    """At most how many rows `queryset` has when its conditions include `pk IN (a list)` or `IdIn(pk, a list)` (a
    ranked search's window: `search_best_first`), so the planner need not be asked; None otherwise."""
    where, pk = queryset.query.where, queryset.model._meta.pk
    if where.connector != AND or where.negated:
        return None
    for condition in where.children:
        ids = condition.lhs if isinstance(condition, Exact) and condition.rhs is True else condition
        if isinstance(ids, IdIn) and getattr(ids.source_expressions[0], "target", None) == pk:
            return len(set(ids.ids))
        if (
            isinstance(condition, In)
            and isinstance(condition.rhs, list | tuple)
            and getattr(condition.lhs, "target", None) == pk
        ):
            return len(set(condition.rhs))
    return None


def _bounded_count(using: str, sql: str, params: Sequence[Any], limit: int) -> int:
    """How many rows `sql` has, counting no further than `limit`: `queryset[:limit].count()` on SQL already
    compiled for the estimate (compiling the list's query again took as long as running both)."""
    with connections[using].cursor() as cursor:
        # The limit written in, as Django writes it: a prepared statement's generic plan would not know a bound one.
        cursor.execute(f"SELECT COUNT(*) FROM ({sql} LIMIT {int(limit)}) subquery", params)  # noqa: S608 (Django's SQL)
        return int(cursor.fetchone()[0])


class _OpenEndedPage(Page):
    """A page whose successor is known from one row read past its end, not from the (estimated) count."""

    def __init__(self, object_list: Sequence, number: int, paginator: Paginator, *, more: bool) -> None:
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


class EstimatingPaginator(Paginator):
    """Asks PostgreSQL's planner first (EXPLAIN: planned, not run). A list it puts at `exact_limit` rows or more
    gets that estimate, with `count_is_estimate`; a smaller one is counted exactly, by a count that stops at
    `exact_limit + 1` rows, so stale statistics never make it read the whole table (should it stop there, the
    count is that many and an estimate too). A list bounded by fewer ids than that (`pk IN` a list: a ranked
    search's window) is counted without asking. Without PostgreSQL there is no estimate and the count is exact."""

    def __init__(self, object_list: QuerySet | CompiledPages, per_page: int, *, exact_limit: int | None = None) -> None:
        super().__init__(object_list, per_page)  # type: ignore[arg-type]  # counted and sliced, never len()
        self.queryset = object_list
        self.exact_limit = settings.PORTICO_API_EXACT_COUNT_LIMIT if exact_limit is None else exact_limit
        self.count_is_estimate = False

    @cached_property
    def count(self) -> int:
        using = self.queryset.db
        params: Sequence[Any]
        bound = None
        known = getattr(self.queryset, "known_count", None)  # a ranked search's window knows its size
        if known is not None and (size := known()) is not None and size < self.exact_limit:  # as `bound` below
            return size
        if isinstance(self.queryset, CompiledPages):  # compiled for PostgreSQL only
            sql, params = self.queryset.counted()
        else:
            queryset = counted(self.queryset)
            if connections[using].vendor != "postgresql":
                return queryset.count()
            try:
                sql, params = queryset.query.sql_with_params()  # compiled once, for the estimate and the count
            except EmptyResultSet:  # `.none()`: nothing to plan or count
                return 0
            bound = _id_list_bound(queryset)
        estimate = bound if bound is not None and bound < self.exact_limit else _plan_rows(using, sql, params)
        if estimate >= self.exact_limit:
            self.count_is_estimate = True
            return estimate
        bounded = _bounded_count(using, sql, params, self.exact_limit + 1)
        self.count_is_estimate = bounded > self.exact_limit
        return bounded

    def validate_number(self, number: Any) -> int:
        if self.count and not self.count_is_estimate:
            return super().validate_number(number)
        # An estimate may fall short of the truth: any page from 1 is asked for, and an empty one is missing.
        try:
            number = int(number)
        except (TypeError, ValueError) as error:
            raise EmptyPage("That page number is not an integer") from error
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        if not self.count_is_estimate:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.queryset[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        return _OpenEndedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)


class EstimatedCountPagination(PortalPagination):
    """`PortalPagination` whose `count` is exact on lists the planner puts under `PORTICO_API_EXACT_COUNT_LIMIT`
    rows and its estimate on longer ones, with `count_is_estimate` saying which (API 1.1)."""

    django_paginator_class = EstimatingPaginator

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        paginator = self.page.paginator if self.page is not None else None
        response.data["count_is_estimate"] = isinstance(paginator, EstimatingPaginator) and paginator.count_is_estimate
        return response

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["count"]["description"] = (
            "Exact when PostgreSQL's planner estimates fewer than PORTICO_API_EXACT_COUNT_LIMIT rows (10,000 by "
            "default); otherwise the planner's estimate (`count_is_estimate`)."
        )
        paginated["properties"]["count_is_estimate"] = {
            "type": "boolean",
            "description": "True when `count` is the planner's estimate rather than an exact count (API 1.1).",
        }
        return paginated


# --- cursors -----------------------------------------------------------------------------------------------
class CursorPagination(BasePagination):
    """Keyset pages over the queryset's own order (which ends with `id`): `next` and `previous` links carry an
    opaque, signed cursor. No count, no offset: each page costs the same however deep it is."""

    cursor_query_param = "cursor"
    page_size = PortalPagination.page_size
    page_size_query_param = PortalPagination.page_size_query_param
    max_page_size = PortalPagination.max_page_size
    salt = "portal.api.cursor"

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list:
        compiled = isinstance(queryset, CompiledPages)
        if not (compiled or isinstance(queryset, QuerySet)):
            raise TypeError("Cursor pages read a queryset.")
        self.request = request
        self.page_size = PortalPagination().get_page_size(request) or self.page_size
        self.keys = queryset.keys if compiled else keys_of(queryset)
        backwards, position = self._decode(queryset.model, request.query_params.get(self.cursor_query_param))
        keys = [key.reversed() for key in self.keys] if backwards else self.keys
        if compiled:
            limit = self.page_size + 1
            rows = queryset.first(keys, limit) if position is None else queryset.after(keys, position, limit)
        elif position is None:
            rows = list(queryset.order_by(*(key.order() for key in keys))[: self.page_size + 1])
        else:
            rows = rows_after(queryset, keys, position, self.page_size + 1)
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if backwards:
            rows.reverse()
            self.has_next, self.has_previous = bool(rows), more
        else:
            self.has_next, self.has_previous = more, position is not None and bool(rows)
        self.first: Model | None = rows[0] if rows else None
        self.last: Model | None = rows[-1] if rows else None
        return rows

    def _decode(self, model: type[Model], cursor: str | None) -> tuple[bool, list[Any] | None]:
        if cursor is None:
            return False, None
        try:
            payload = signing.loads(cursor, salt=self.salt)
            if payload["k"] != self._order_name():
                raise ValueError("The cursor belongs to another order.")
            return payload["b"] is True, parse_position(model, self.keys, payload["p"])
        except (signing.BadSignature, ValueError, TypeError, KeyError) as error:
            raise ValidationFailed(
                "That cursor is not one this list gave out for this order.",
                fields={self.cursor_query_param: "Invalid cursor."},
            ) from error

    def _order_name(self) -> str:
        return ",".join(f"-{key.field}" if key.descending else key.field for key in self.keys)

    def _link(self, row: Model | None, *, backwards: bool) -> str | None:
        if row is None:
            return None
        payload = {"k": self._order_name(), "b": backwards, "p": position_of(row, self.keys)}
        cursor = signing.dumps(payload, salt=self.salt, compress=True)
        url = remove_query_param(self.request.build_absolute_uri(), "page")
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "next": self._link(self.last, backwards=False) if self.has_next else None,
                "previous": self._link(self.first, backwards=True) if self.has_previous else None,
                "results": data,
            }
        )


# --- the requests list -------------------------------------------------------------------------------------
PAGINATION_MODES = ("page", "cursor")


class RequestListPagination(BasePagination):
    """Page numbers with a count (exact, or estimated on long lists), or `?pagination=cursor` (or a `cursor=`
    from a `next`/`previous` link) for cursor pages without a count. A v1 client that asks for neither gets page
    numbers and `count` as before, plus `count_is_estimate`."""

    mode_query_param = "pagination"

    def __init__(self) -> None:
        self.pages = EstimatedCountPagination()
        self.cursors = CursorPagination()
        self.chosen: BasePagination = self.pages

    @classmethod
    def wants_cursor(cls, request: Request) -> bool:
        mode = request.query_params.get(cls.mode_query_param)
        if mode is not None and mode not in PAGINATION_MODES:
            raise ValidationFailed(
                f"`{cls.mode_query_param}` is “page” or “cursor”.", fields={cls.mode_query_param: "Unknown mode."}
            )
        return mode == "cursor" or CursorPagination.cursor_query_param in request.query_params

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list | None:
        self.chosen = self.cursors if self.wants_cursor(request) else self.pages
        return self.chosen.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        return self.chosen.get_paginated_response(data)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paginated = self.pages.get_paginated_response_schema(schema)
        paginated["required"] = ["results"]
        paginated["description"] = "Page numbers: `count`, `count_is_estimate`, `next`, `previous`, `results`. "
        paginated["description"] += "With `pagination=cursor`: `next`, `previous` and `results` only."
        return paginated

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            *self.pages.get_schema_operation_parameters(view),
            {
                "name": self.mode_query_param,
                "required": False,
                "in": "query",
                "description": "`cursor` (API 1.1): pages by cursor, in the list's order, without a count; follow "
                "`next` and `previous`. A full-text `search` then comes in the `ordering` given (urgency by "
                "default), not best match first. Default `page`.",
                "schema": {"type": "string", "enum": list(PAGINATION_MODES)},
            },
            {
                "name": CursorPagination.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The opaque cursor of a `next` or `previous` link (API 1.1); a cursor this list did "
                "not give out is a 400.",
                "schema": {"type": "string"},
            },
        ]
