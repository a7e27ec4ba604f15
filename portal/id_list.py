"""A condition on a list of ids sent as one array parameter."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Func, Value


class IdIn(Func):
    """`field = ANY(ids)` on PostgreSQL, `field IN (…)` elsewhere: `id IN (%s, %s, …)` with a search window's 500
    ids was a query psycopg parsed again on every call (too long for its cache: ~0.8 ms each) and Django prepared
    one parameter at a time, three queries a search; as one array it is one parameter and the same text every
    time (so prepared once)."""

    output_field = models.BooleanField()

    def __init__(self, field: Any, ids: list[int]) -> None:
        self.ids = list(ids)
        array = Value(self.ids, output_field=ArrayField(models.BigIntegerField()))
        super().__init__(field, array)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        field, params = compiler.compile(self.source_expressions[0])
        return f"{field} = ANY(%s::bigint[])", [*params, self.ids]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        field, params = compiler.compile(self.source_expressions[0])
        if not self.ids:
            return "0 = 1", params
        return f"{field} IN ({', '.join(['%s'] * len(self.ids))})", [*params, *self.ids]
