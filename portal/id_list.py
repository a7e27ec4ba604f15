"""A condition on a list of ids sent as one array parameter (PostgreSQL; elsewhere an `IN` list)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Func


class IdIn(Func):
    """`field = ANY(ids)` on PostgreSQL, `field IN (ids)` elsewhere (SQLite, the embedded default).

    `id IN (%s, %s, …)` with a search window's 500 ids was a query psycopg parsed again on every call (too long for
    its cache: ~0.8 ms each) and Django prepared one id at a time, in three queries a search; as one array it is one
    parameter, and the same text whatever the ids (so prepared once). Prepared, PostgreSQL may also keep the array's
    generic plan where it planned an `IN` list again on every run (the search snippets' timeline read)."""

    output_field = models.BooleanField()

    def __init__(self, field: Any, ids: list[int]) -> None:
        self.ids = list(ids)
        super().__init__(field)

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: Any = None,
        template: Any = None,
        arg_joiner: Any = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        field, params = compiler.compile(self.source_expressions[0])
        return f"{field} = ANY(%s::bigint[])", (*params, self.ids)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, tuple[Any, ...]]:
        field, params = compiler.compile(self.source_expressions[0])
        if not self.ids:
            return "0 = 1", ()
        return f"{field} IN ({', '.join(['%s'] * len(self.ids))})", (*params, *self.ids)
