"""The request page's reads compiled once per process (`portal.compiled.CompiledObjects`), then run with the viewer.

Building and compiling each queryset (the visibility gate's conditions and subqueries, six related tables) took
about half the page's CPU. The SQL is still `visible_to`'s: each query is built once per *viewer shape* (the viewer's
scope in `compiled_scope`: sees everything, a vendor's person, anyone else) from that module's stand-in user with
marker ids, so the one visibility rule keeps its one home in `querysets.py`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.db.models import IntegerField, Value

from portal.compiled import CompiledList, CompiledObjects

from .compiled_scope import USER_MARKER, VENDOR_MARKER, scope_of
from .compiled_scope import stand_in as scope_stand_in
from .models import RequestEvent, ServiceRequest

if TYPE_CHECKING:
    from portal.models import User

# Values no row holds: each is replaced by the real one on every run (the viewer's own, USER_MARKER and
# VENDOR_MARKER, are `compiled_scope`'s).
REQUEST = -(2**62) + 107
EVENT = -(2**62) + 109
REFERENCE = "\x01portico-reference-marker\x01"
VIEWER = {"user": USER_MARKER, "vendor": VENDOR_MARKER}


def stand_in(scope: str) -> Any:
    """`compiled_scope.stand_in` for `scope` with a vendor exactly when the scope is a vendor's person's."""
    return scope_stand_in(scope, vendor=scope == "vendor")


def _values(user: User) -> dict[str, Any]:
    return {"user": user.pk, "vendor": user.vendor_id}


@functools.cache
def _request_query() -> CompiledObjects:
    def build(shape: str, **markers: Any) -> Any:
        return (
            ServiceRequest.objects.visible_to(stand_in(shape))
            .with_related()
            # The environment's calendar too: the due-times card names its region, and reading it lazily was a
            # query of its own, built and compiled on every page.
            .select_related("environment__calendar")
            .filter(reference=markers["reference"])
            .order_by()[:2]
        )

    return CompiledObjects(build, {**VIEWER, "reference": REFERENCE})


@functools.cache
def _clocks_query() -> CompiledObjects:
    from sla.models import RequestClock

    def build(shape: str, **markers: Any) -> Any:
        return RequestClock.objects.filter(service_request_id=markers["request"]).select_related("policy", "vendor")

    return CompiledObjects(build, {"request": REQUEST})


@functools.cache
def _timeline_query() -> CompiledObjects:
    def build(shape: str, **markers: Any) -> Any:
        return (
            RequestEvent.objects.visible_to(stand_in(shape))
            .filter(service_request=markers["request"])
            .select_related("actor")
        )

    return CompiledObjects(build, {**VIEWER, "request": REQUEST})


def request_visible_by_reference(user: User, reference: str) -> ServiceRequest | None:
    """`visible_to(user).with_related().get(reference=reference)`, or None (the API's transitions read it)."""
    shape = scope_of(user)
    if shape is None:
        return None
    found = _request_query().objects(shape, reference=reference, **_values(user))
    return found[0] if len(found) == 1 else None


@functools.cache
def _locked_request_query() -> CompiledObjects:
    def build(shape: str | None, **markers: Any) -> Any:
        candidates = ServiceRequest.objects.visible_to(stand_in(shape)) if shape else ServiceRequest.objects.all()
        return (
            candidates.select_for_update(of=("self",))
            .select_related("environment__calendar")
            .filter(pk=markers["request"])
            .order_by()[:2]
        )

    return CompiledObjects(build, {**VIEWER, "request": REQUEST})


def request_locked(user: User | None, request_id: int) -> ServiceRequest | None:
    """The request locked (`SELECT … FOR UPDATE OF` its row) through `visible_to(user)` (None: Portico itself, no
    gate), with its environment and calendar; None if it does not exist for `user`. Inside a transaction only."""
    if user is None:
        found = _locked_request_query().objects(None, request=request_id)
    else:
        shape = scope_of(user)
        if shape is None:
            return None
        found = _locked_request_query().objects(shape, request=request_id, **_values(user))
    return found[0] if len(found) == 1 else None


@functools.cache
def _request_by_id_query() -> CompiledObjects:
    def build(shape: None, **markers: Any) -> Any:
        return ServiceRequest.objects.with_related().filter(pk=markers["request"]).order_by()[:2]

    return CompiledObjects(build, {"request": REQUEST})


def request_with_related(request_id: int) -> ServiceRequest:
    """`ServiceRequest.objects.with_related().get(pk=request_id)`, not through any gate (a write's answer reads its
    request again: building the query was most of that read's CPU)."""
    found = _request_by_id_query().objects(None, request=request_id)
    if len(found) != 1:
        raise ServiceRequest.DoesNotExist(f"No request with id {request_id}.")
    return found[0]


def request_for_page(user: User, reference: str) -> ServiceRequest | None:
    """The request `reference` if `user` may see it, with its related rows and its clocks (with their policy and
    vendor) as `visible_to(user).with_related().prefetch_related("clocks__policy", "clocks__vendor")` reads it."""
    service_request = request_visible_by_reference(user, reference)
    if service_request is None:
        return None
    clocks = _clocks_query().objects(None, request=service_request.pk)
    for clock in clocks:  # what the prefetch would have set: each clock knows its request
        clock._state.fields_cache["service_request"] = service_request
    prefetched = service_request.clocks.all()  # the related manager's queryset, as `prefetch_related` stores it
    prefetched._result_cache = clocks
    prefetched._prefetch_done = True  # type: ignore[attr-defined]
    service_request._prefetched_objects_cache = {"clocks": prefetched}  # type: ignore[attr-defined]
    return service_request


def timeline_for_page(user: User, service_request: ServiceRequest) -> list[RequestEvent]:
    """`RequestEvent.objects.visible_to(user).filter(service_request=service_request).select_related("actor")`."""
    shape = scope_of(user)
    if shape is None:
        return []
    return _timeline_query().objects(shape, request=service_request.pk, **_values(user))


_OF_REQUEST: dict[Callable[..., Any], CompiledObjects] = {}


def rows_of_request(build: Callable[[Any, int], Any], request_id: int, *, user: User | None = None) -> list[Any]:
    """The rows of `build(viewer, request_id)`, a queryset of one request's rows (its runs, its attachments), built
    and compiled once per process and viewer shape. `build` must be a module-level function (it keys the cache)
    that reads the viewer only through the visibility gates (`visible_to`, `internal_notes_scope`) or their id;
    without a `user` it is given None and may not read one. Nothing is prefetched. A viewer who sees nothing (not
    signed in, inactive) gets no rows."""
    query = _OF_REQUEST.get(build)
    if query is None:

        def built(shape: str | None, **markers: Any) -> Any:
            return build(stand_in(shape) if shape is not None else None, markers["request"])

        query = _OF_REQUEST.setdefault(build, CompiledObjects(built, {**VIEWER, "request": REQUEST}))
    if user is None:
        return query.objects(None, request=request_id)
    shape = scope_of(user)
    if shape is None:
        return []
    return query.objects(shape, request=request_id, **_values(user))


def first_of(queryset: Any) -> Any:
    """`queryset.first()`'s query, unrun: its own order, or the primary key's."""
    return (queryset if queryset.ordered else queryset.order_by("pk"))[:1]


# django-fsm reads the state of every ServiceRequest it makes (`FSMModelMixin.__init__`): one read without the
# state column would load it in a query of its own. A request read for its id alone selects its state too.
ID_ONLY = ("pk", "state")


def _visible_request(viewer: Any, request_id: int) -> Any:
    return ServiceRequest.objects.visible_to(viewer).filter(pk=request_id).only(*ID_ONLY)[:1]


def request_visible(user: User, request_id: int) -> bool:
    """`ServiceRequest.objects.visible_to(user).filter(pk=request_id).exists()`, compiled once per viewer shape."""
    return bool(rows_of_request(_visible_request, request_id, user=user))


@functools.cache
def _event_visible_query(shape: str) -> CompiledList:
    def build(**markers: Any) -> Any:
        return (
            RequestEvent.objects.visible_to(stand_in(shape))
            .filter(pk=markers["event"])
            .order_by()
            .values_list(Value(markers["user"], output_field=IntegerField()))
        )

    return CompiledList(build, {**VIEWER, "event": EVENT})


def event_visible_to_each(event_id: int, users: Iterable[User]) -> set[int]:
    """The ids of those `users` for whom `RequestEvent.objects.visible_to(user).filter(pk=event_id).exists()`, in
    one statement: each person's check (compiled once per process and viewer shape) joined by UNION ALL. Read their
    permissions first (`portal.auth_backends.permissions_prefetch`), or telling their shape is a query each."""
    using = router.db_for_read(RequestEvent)
    wrap = connections[using].features.supports_parentheses_in_compound  # as Django writes a union (not SQLite)
    parts, params = [], []
    for user in users:
        shape = scope_of(user)
        if shape is None:
            continue
        sql, bound = _event_visible_query(shape).statement(using, user=user.pk, vendor=user.vendor_id, event=event_id)
        parts.append(f"({sql})" if wrap else sql)
        params.extend(bound)
    if not parts:
        return set()
    with connections[using].cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return {row[0] for row in cursor.fetchall()}
