"""Keyset (cursor) positions over an ordered queryset: where a page ends, and the rows that come after it.

A page's last row is a tuple of its sort values; the rows after it are those greater in the sort's order. That
condition is split into disjoint branches that each start an index range (`a = v AND b > w`, `a > v`, `a IS NULL`,
…), so every branch reads at most a page of rows from the sort's index whatever the page's depth, where one
`(a > v) OR (a = v AND …)` filter would scan the index from the start. The branches' ids come back in one
`UNION ALL` (each branch `LIMIT`ed), and the page is read by those ids: two queries for any page size or depth
(SQLite, which cannot LIMIT inside a UNION, runs a query per branch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import F, Field, Model, OrderBy, Q, QuerySet


@dataclass(frozen=True)
class Key:
    """One sort key: a concrete field, its direction and whether it may be NULL (NULLs sort after every value
    going forwards, before every value going backwards: PostgreSQL's default, which its indexes store)."""

    field: str
    descending: bool
    nullable: bool

    def order(self) -> OrderBy:
        return F(self.field).desc(nulls_first=True) if self.descending else F(self.field).asc(nulls_last=True)

    def reversed(self) -> Key:
        return Key(self.field, not self.descending, self.nullable)

    def equal(self, value: Any) -> Q:
        return Q(**{f"{self.field}__isnull": True}) if value is None else Q(**{self.field: value})

    def after(self, value: Any) -> list[Q]:
        """Disjoint conditions, each one index range, for the values that sort strictly after `value`."""
        if not self.descending:
            if value is None:
                return []  # NULL is last
            later = [Q(**{f"{self.field}__gt": value})]
            return [*later, Q(**{f"{self.field}__isnull": True})] if self.nullable else later
        if value is None:
            return [Q(**{f"{self.field}__isnull": False})] if self.nullable else []
        return [Q(**{f"{self.field}__lt": value})]


def _field(model: type[Model], name: str) -> Field:
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"A keyset order names the model's own fields, not {name!r}.")
    return field


def keys_of(queryset: QuerySet) -> list[Key]:
    """The sort keys of `queryset`'s `order_by`, which must end in a unique key (`id`) and name only fields."""
    model: type[Model] = queryset.model
    keys = []
    for item in queryset.query.order_by:
        if isinstance(item, str):
            descending, name = item.startswith("-"), item.lstrip("-")
        elif isinstance(item, OrderBy) and isinstance(item.expression, F):
            descending, name = item.descending, item.expression.deconstruct()[1][0]
        else:
            raise TypeError(f"A keyset order names fields only, not {item!r}.")
        field = _field(model, name)
        keys.append(Key(field.attname, descending, bool(field.null)))
    if not keys or keys[-1].field != _field(model, "pk").attname:
        raise TypeError("A keyset order ends with the primary key, so that every position is unique.")
    return keys


def position_of(row: Model, keys: list[Key]) -> list[Any]:
    """The row's sort values, as JSON-ready values (`value_to_string`'s text, or None)."""
    values = []
    for key in keys:
        value = getattr(row, key.field)
        values.append(None if value is None else _field(type(row), key.field).value_to_string(row))
    return values


def parse_position(model: type[Model], keys: list[Key], values: Any) -> list[Any]:
    """Sort values read back from a cursor; ValueError if they do not fit the keys."""
    if not isinstance(values, list) or len(values) != len(keys):
        raise ValueError("The cursor does not fit this order.")
    parsed: list[Any] = []
    for key, value in zip(keys, values, strict=True):
        if value is None:
            if not key.nullable:
                raise ValueError("The cursor does not fit this order.")
            parsed.append(None)
            continue
        if not isinstance(value, str):
            raise ValueError("The cursor does not fit this order.")
        try:
            parsed.append(_field(model, key.field).to_python(value))
        except ValidationError as error:
            raise ValueError("The cursor does not fit this order.") from error
    return parsed


def branches_after(keys: list[Key], position: list[Any]) -> list[Q]:
    """The disjoint conditions, each one index range, whose rows sort after `position` in the order of `keys`."""
    branches: list[Q] = []
    for index, key in enumerate(keys):
        same = Q()
        for earlier, value in zip(keys[:index], position[:index], strict=True):
            same &= earlier.equal(value)
        branches.extend(same & condition for condition in key.after(position[index]))
    return branches


def rows_after(queryset: QuerySet, keys: list[Key], position: list[Any], limit: int) -> list[Model]:
    """The first `limit` rows of `queryset` (ordered by `keys`) that sort after `position`."""
    ordered = queryset.order_by(*(key.order() for key in keys))
    branches = branches_after(keys, position)
    if not branches:
        return []
    ids = [ordered.filter(branch).values_list("pk", flat=True)[:limit] for branch in branches]
    if len(ids) == 1:
        chosen = list(ids[0])
    elif connections[queryset.db].features.supports_slicing_ordering_in_compound:
        chosen = list(ids[0].union(*ids[1:], all=True))
    else:  # SQLite cannot LIMIT inside a UNION: a query per branch
        chosen = [pk for branch in ids for pk in branch]
    return list(ordered.filter(pk__in=chosen)[:limit])
