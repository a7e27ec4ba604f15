"""A model queryset's rows as plain read-only objects, for a representation built from many rows (an API list).

Making a model instance for every row and every `select_related` object was the largest share of the request
list's CPU: a page of 50 requests is 300 instances, and each request also runs django-fsm's `__init__`. The SQL
stays the queryset's own, so its count, its planner estimate, its slices and its cursor conditions are the same;
only what a fetched row becomes differs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, cast

from django.db.models import Model, QuerySet
from django.db.models.query import BaseIterable, ModelIterable


class PlainRow:
    """One row: the model's attribute names (`attname`s, `pk`, annotations; a `select_related` object as a row of
    its own, or None), and its model's `_meta` (what keyset pagination reads). Nothing is loaded on access."""

    _meta: Any

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


@functools.cache
def _row_class(model: type[Model]) -> type[PlainRow]:
    return type(f"{model.__name__}Row", (PlainRow,), {"_meta": model._meta, "__slots__": ()})


def _populator(klass_info: dict[str, Any], select: list[Any]) -> tuple[Any, ...]:
    """How one model of the row is read: (row class, start, end, attnames, pk position, related populators)."""
    if klass_info.get("reverse"):
        raise ValueError("plain rows follow forward relations only")
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    model = klass_info["model"]
    names = [column[0].target.attname for column in select[start:end]]
    related = tuple(
        (info["field"].name, _populator(info, select)) for info in klass_info.get("related_klass_infos", ())
    )
    return _row_class(model), start, end, names, names.index(model._meta.pk.attname), related


def _build(populator: tuple[Any, ...], row: Any) -> PlainRow | None:
    row_class, start, end, names, pk_at, related = populator
    values = row[start:end]
    if values[pk_at] is None:
        return None  # an empty outer join: no related object, as select_related gives None
    fields = dict(zip(names, values, strict=True))
    fields["pk"] = values[pk_at]
    for name, child in related:
        fields[name] = _build(child, row)
    # `row_class(fields)` without its `__init__` copying the dict again: seven rows a request, 350 a page of 50.
    plain = _new(row_class)
    plain.__dict__ = fields
    return plain


_new = object.__new__


def row_maker(compiler: Any) -> Callable[[Sequence[Any]], PlainRow]:
    """What makes a `PlainRow` of one converted row of `compiler`'s query (once it has compiled), for rows read
    through SQL compiled once (`portal.compiled.CompiledList`) as for a queryset's."""
    populator = _populator(compiler.klass_info, compiler.select)
    annotations = list(compiler.annotation_col_map.items())

    def make(row: Sequence[Any]) -> PlainRow:
        plain = _build(populator, row)
        for name, position in annotations:
            setattr(plain, name, row[position])
        return cast(PlainRow, plain)

    return make


class PlainRowIterable(BaseIterable):
    """`ModelIterable`'s rows, as `PlainRow`s instead of model instances."""

    def __iter__(self) -> Any:
        queryset = self.queryset
        compiler = queryset.query.get_compiler(using=queryset.db)
        results = compiler.execute_sql(chunked_fetch=self.chunked_fetch, chunk_size=self.chunk_size)
        make = row_maker(compiler)
        for row in compiler.results_iter(results):
            yield make(row)


def plain_rows(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """`queryset` (of model instances, nothing to prefetch) yielding `PlainRow`s: read-only rows for code that only
    reads their columns and their `select_related` objects' columns."""
    if queryset._iterable_class is not ModelIterable:
        raise ValueError("plain rows replace model instances, not values()")
    if queryset._prefetch_related_lookups or queryset._known_related_objects:  # type: ignore[attr-defined]
        raise ValueError("plain rows cannot prefetch or carry known related objects")
    plain = queryset.all()
    plain._iterable_class = PlainRowIterable
    return plain
