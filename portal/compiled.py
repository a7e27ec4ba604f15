"""A queryset compiled to SQL once per process and database, then run with new values.

For the lookups every signed-in request makes (its API token, its user): building and compiling the queryset took
~1 ms of CPU a call (more with subqueries), running it ~0.1 ms. The SQL is still Django's, so it follows the models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import connections, router, transaction
from django.db.models import QuerySet, sql


def marker_places(params: Sequence[Any], markers: Mapping[str, Any]) -> dict[str, list[int]]:
    """Where each marker's value stands among a compiled query's parameters (none, once or more)."""
    return {name: [i for i, param in enumerate(params) if param == marker] for name, marker in markers.items()}


def bind(params: Sequence[Any], places: Mapping[str, list[int]], values: Mapping[str, Any]) -> list[Any]:
    """`params` with each marker's places holding its value from `values`."""
    bound = list(params)
    for name, indexes in places.items():
        for index in indexes:
            bound[index] = values[name]
    return bound


class _Converted:
    """The compiler's row conversion (`results_iter`) with its converters worked out once: `get_converters` asks
    every selected column's field for its converters, ~0.1 ms a query on the request page, the same every time."""

    def __init__(self, compiler: Any) -> None:
        self.compiler = self._compiler = compiler
        fields = [column[0] for column in compiler.select[0 : compiler.col_count]]
        # Composite columns (a composite primary key) are left to Django's own path.
        self._plain = not compiler.has_composite_fields(fields)
        self._converters = compiler.get_converters(fields) if self._plain else {}

    def rows(self, fetched: list[tuple[Any, ...]], *, tuple_expected: bool = False) -> list[Any]:
        """`compiler.results_iter(results=[fetched], tuple_expected=…)`, as a list."""
        if not self._plain:
            return list(self._compiler.results_iter(results=[fetched], tuple_expected=tuple_expected))
        if not self._converters:
            return fetched  # psycopg's tuples, as results_iter passes them through
        converted = self._compiler.apply_converters(fetched, self._converters)
        return [tuple(row) for row in converted] if tuple_expected else list(converted)


class CompiledQuery:
    """`build(**markers)` returns a `values_list()` queryset with each marker value where a parameter goes; `rows()`
    runs its SQL with the real values in their places. Marker values must be ones no query would otherwise hold
    (they are found among the compiled parameters by equality)."""

    def __init__(self, build: Callable[..., QuerySet[Any, Any]], markers: Mapping[str, Any]) -> None:
        self._build = build
        self._markers = dict(markers)
        self._compiled: dict[str, tuple[Any, str, tuple[Any, ...], dict[str, int]]] = {}

    def _compile(self, using: str) -> tuple[Any, str, tuple[Any, ...], dict[str, int]]:
        compiler = self._build(**self._markers).using(using).query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        positions = {}
        for name, marker in self._markers.items():
            found = [index for index, param in enumerate(params) if param == marker]
            if len(found) != 1:
                raise ValueError(f"marker {name!r} is in the compiled query {len(found)} times, not once")
            positions[name] = found[0]
        compiled = (_Converted(compiler), sql, tuple(params), positions)
        self._compiled[using] = compiled
        return compiled

    def rows(self, using: str = "default", **values: Any) -> list[tuple[Any, ...]]:
        """The rows for `values` (one per marker), converted as the queryset itself would convert them."""
        compiler, sql, params, positions = self._compiled.get(using) or self._compile(using)
        bound = list(params)
        for name, position in positions.items():
            bound[position] = values[name]
        with connections[using].cursor() as cursor:
            cursor.execute(sql, bound)
            fetched = cursor.fetchall()
        return compiler.rows(fetched, tuple_expected=True)


class CompiledObjects:
    """A model queryset (`select_related` and annotations included) compiled to SQL once per process, database and
    `shape`, then run with new values: `objects()` returns the instances the queryset itself would (no prefetching).

    `build(shape, **markers)` returns the queryset for one shape (a hashable the caller picks, e.g. a viewer's kind
    when the query's conditions differ by who asks) with each marker value where a parameter goes. Unlike
    `CompiledQuery`, a marker may stand in several places (a user in two conditions); it must still be a value no
    query would otherwise hold. On the request page each queryset took ~1 ms of CPU to build and compile and
    ~0.1 ms to run."""

    def __init__(self, build: Callable[..., QuerySet[Any, Any]], markers: Mapping[str, Any]) -> None:
        self._build = build
        self._markers = dict(markers)
        self._compiled: dict[tuple[str, Any], tuple[Any, ...]] = {}
        self._routing: dict[Any, tuple[Any, bool]] = {}  # shape -> (model, for_write)

    def _alias(self, shape: Any) -> str:
        """The connection the queryset itself would use (the routers': a replica inside `replica_reads()`)."""
        routing = self._routing.get(shape)
        if routing is None:
            queryset = self._build(shape, **self._markers)
            routing = self._routing[shape] = (queryset.model, bool(queryset._for_write))  # type: ignore[attr-defined]
        model, for_write = routing
        return router.db_for_write(model) if for_write else router.db_for_read(model)

    def _compile(self, using: str, shape: Any) -> tuple[Any, ...]:
        from django.db.models.query import get_related_populators

        queryset = self._build(shape, **self._markers).using(using)
        if queryset._prefetch_related_lookups or queryset._known_related_objects:  # type: ignore[attr-defined]
            raise ValueError("a compiled queryset cannot prefetch or carry known related objects")
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        positions = marker_places(params, self._markers)
        klass_info, select = compiler.klass_info, compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, using)  # type: ignore[call-arg]  # Django 5.2's
        compiled = (
            compiler,
            _Converted(compiler),
            sql,
            tuple(params),
            positions,
            klass_info["model"],
            start,
            end,
            init_list,
            populators,
        )
        self._compiled[(using, shape)] = compiled
        return compiled

    def sql(self, shape: Any, using: str | None = None) -> str:
        """The compiled SQL (for tests and EXPLAIN)."""
        using = using or self._alias(shape)
        return (self._compiled.get((using, shape)) or self._compile(using, shape))[2]

    def objects(self, shape: Any, using: str | None = None, **values: Any) -> list[Any]:
        """The instances for `values` (one per marker), as iterating the queryset would make them, from `using` or
        the connection the queryset would read (or, for `select_for_update`, write)."""
        using = using or self._alias(shape)
        compiled = self._compiled.get((using, shape)) or self._compile(using, shape)
        compiler, converted, sql, params, positions, model, start, end, init_list, populators = compiled
        with connections[using].cursor() as cursor:
            cursor.execute(sql, bind(params, positions, values))
            fetched = cursor.fetchall()
        annotations = compiler.annotation_col_map
        out = []
        for row in converted.rows(fetched):
            obj = model.from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in annotations.items():
                setattr(obj, name, row[position])
            out.append(obj)
        return out


class CompiledList:
    """`CompiledQuery` for a list page: a marker may stand in several places (a user's id in the team subquery
    and as the requester) or none (a scope whose query does not name the user), and `rows()` takes a page (LIMIT
    and OFFSET written into the ordered query's SQL as Django itself writes them) while
    `count()` counts up to a cap (the query wrapped in `SELECT COUNT(*)`, as Django's `qs[:cap].count()` does).
    Build the count from an unordered queryset."""

    def __init__(
        self, build: Callable[..., QuerySet[Any, Any]], markers: Mapping[str, Any], *, every: bool = False
    ) -> None:
        """`every`: each marker must be found (a ValueError on first use otherwise), for a value that is in the
        query whoever asks, such as the time now."""
        self._build = build
        self._markers = dict(markers)
        self._every = every
        self._compiled: dict[str, tuple[Any, str, tuple[Any, ...], dict[str, list[int]]]] = {}

    def _compile(self, using: str) -> tuple[Any, str, tuple[Any, ...], dict[str, list[int]]]:
        queryset = self._build(**self._markers).using(using)
        if queryset.query.is_sliced:
            raise ValueError("a CompiledList is built unsliced: rows() and count() add the limit")
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        positions = marker_places(params, self._markers)
        if self._markers and not any(positions.values()):
            raise ValueError("none of the markers is in the compiled query")
        if self._every and not all(positions.values()):
            raise ValueError(f"markers not in the compiled query: {[n for n, p in positions.items() if not p]}")
        compiled = (_Converted(compiler), sql, tuple(params), positions)
        self._compiled[using] = compiled
        return compiled

    def compile(self, using: str = "default") -> None:
        """Compile now (rather than on first use): a ValueError if the markers are not found."""
        if using not in self._compiled:
            self._compile(using)

    def _bound(self, using: str, values: Mapping[str, Any]) -> tuple[Any, str, list[Any]]:
        compiler, sql, params, positions = self._compiled.get(using) or self._compile(using)
        return compiler, sql, bind(params, positions, values)

    def compiler(self, using: str = "default") -> Any:
        """Django's compiler of the query (compiled on first use): its `klass_info`, `select` and annotations say
        what each column of a row is."""
        return (self._compiled.get(using) or self._compile(using))[0].compiler

    def statement(self, using: str = "default", **values: Any) -> tuple[str, list[Any]]:
        """The SQL and its parameters for `values` (one per marker), unrun: to join into a larger statement."""
        _compiler, sql, bound = self._bound(using, values)
        return sql, bound

    def rows(
        self, using: str = "default", *, limit: int | None = None, offset: int = 0, **values: Any
    ) -> list[tuple[Any, ...]]:
        """The rows for `values` (one per marker), `limit` of them from `offset`, converted as the queryset would."""
        compiler, sql, bound = self._bound(using, values)
        if limit is not None:
            sql = f"{sql} LIMIT {int(limit)} OFFSET {int(offset)}"  # written in, as Django writes them (see count)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, bound)
            fetched = cursor.fetchall()
        return compiler.rows(fetched, tuple_expected=True)

    def count(self, using: str = "default", *, cap: int | None, **values: Any) -> int:
        """How many rows, counting no further than `cap` (None: all of them)."""
        _compiler, sql, bound = self._bound(using, values)
        if cap is not None:
            # Written into the SQL, not bound: a prepared statement's generic plan would not know a bound limit.
            sql = f"{sql} LIMIT {int(cap)}"
        with connections[using].cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) subquery", bound)  # noqa: S608 (Django's SQL, values bound)
            return int(cursor.fetchone()[0])


class CompiledForIds:
    """A `values_list()` queryset over a list of ids (`build(ids)`, which puts them in `__in` lookups), compiled
    once per process, database and number of ids (Django writes one placeholder per id), then run with the real
    ids. For the reads a notice makes of its recipients: their permissions, their channel choices."""

    _FIRST_MARKER = -(2**62) + 100_000  # the i-th id's stand-in is this plus i: values no row holds

    def __init__(self, build: Callable[[list[int]], QuerySet[Any, Any]]) -> None:
        self._build = build
        self._by_count: dict[int, CompiledList] = {}

    def rows(self, ids: list[int], using: str = "default") -> list[tuple[Any, ...]]:
        """The rows for `ids`, converted as the queryset would convert them."""
        if not ids:
            return []  # `__in` an empty list matches nothing (Django does not even ask)
        query = self._by_count.get(len(ids))
        if query is None:
            markers = {f"id{i}": self._FIRST_MARKER + i for i in range(len(ids))}
            query = self._by_count[len(ids)] = CompiledList(
                lambda **stand_ins: self._build(list(stand_ins.values())), markers, every=True
            )
        return query.rows(using, **{f"id{i}": value for i, value in enumerate(ids)})


_PLAIN = object()  # a CompiledUpdate's markers were not found: it runs the plain update


class CompiledUpdate:
    """`queryset.update(**changes)` on one table compiled to SQL once per process and database, then run with new
    values. `build(**markers)` returns the queryset and the changes with each marker value where a parameter goes
    (a marker may stand in several places). Where the database adapts a marker (SQLite writes times as text), it
    is not found among the parameters, and every run builds and runs the plain update instead."""

    def __init__(
        self, build: Callable[..., tuple[QuerySet[Any, Any], dict[str, Any]]], markers: Mapping[str, Any]
    ) -> None:
        self._build = build
        self._markers = dict(markers)
        self._compiled: dict[str, Any] = {}

    def _compile(self, using: str) -> Any:
        queryset, changes = self._build(**self._markers)
        query: sql.UpdateQuery = queryset.query.chain(sql.UpdateQuery)  # type: ignore[assignment]  # chain(klass)
        query.add_update_values(changes)
        query.clear_select_clause()
        if query.get_related_updates() or query.count_active_tables() > 1:
            raise ValueError("a CompiledUpdate changes one table, filtered by its own columns")
        statement, params = query.get_compiler(using).as_sql()
        positions = {
            name: [i for i, param in enumerate(params) if param == marker] for name, marker in self._markers.items()
        }
        compiled = (statement, tuple(params), positions) if all(positions.values()) else _PLAIN
        self._compiled[using] = compiled
        return compiled

    def run(self, using: str = "default", **values: Any) -> int:
        """Update the rows for `values` (one per marker); returns how many were updated."""
        compiled = self._compiled.get(using) or self._compile(using)
        if compiled is _PLAIN:
            queryset, changes = self._build(**values)
            return queryset.using(using).update(**changes)
        statement, params, positions = compiled
        bound = list(params)
        for name, places in positions.items():
            for place in places:
                bound[place] = values[name]
        with transaction.mark_for_rollback_on_error(using=using), connections[using].cursor() as cursor:
            cursor.execute(statement, bound)
            return cursor.rowcount
