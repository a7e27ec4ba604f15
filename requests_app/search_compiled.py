"""The search window's last two steps compiled once per process and viewer scope, then run with the viewer and the
words: the test that a list is nothing but `visible_to(user).search_text(text)`, and the read that checks the
candidates against the request's own `visible_to` and ranks them (`ServiceRequestQuerySet._search_window`).

Building them took a vendor engineer's search page ~2.7 ms of CPU (the gate, the match of two parts, the rank) on
every search, whatever the words. They are built here as `querysets.py` builds them, from a stand-in user of the
viewer's scope (`requests_app.compiled_scope`: sees all, a vendor's person, anyone else) with marker ids, teams and
words, so the rules keep their one home there.
A reference (`REQ-…`, a bare number) adds a second query term derived from the words: it is left to the plain path.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import F, Q, QuerySet

from portal.compiled import CompiledList, bind, marker_places
from portal.id_list import IdIn

from .compiled_scope import USER_MARKER, VENDOR_MARKER, scope_of, stand_in
from .models import RequestSearchDocument, ServiceRequest
from .permissions import team_ids
from .querysets import MatchPart, _document_match_parts, _document_rank, reference_from

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from portal.models import User

# Values no request, team or search holds, replaced by the real ones on every run.
TEXT = "\x01portico-search-words\x01"
FIRST_TEAM = -(2**62) + 1_000  # the i-th team's marker is this plus i
FIRST_IDS = -(2**62) + 2_000  # the i-th part's candidate ids: the list [this plus i]
LOWER, UPPER = -(2**62) + 3_001, -(2**62) + 3_003  # a span's ids


class Search:
    """One viewer's search for one text, on the compiled queries of its scope."""

    def __init__(self, user: User, text: str, scope: str, teams: tuple[int, ...]) -> None:
        self.scope, self.teams = scope, len(teams)
        self.sees_all = scope == "all"
        self.values: dict[str, Any] = {"user": user.pk, "vendor": user.vendor_id, "text": text}
        self.values.update({f"team{i}": team for i, team in enumerate(teams)})

    def plain_where(self, using: str) -> tuple[str, tuple[Any, ...]]:
        """The WHERE clause and its parameters of `visible_to(user).search_text(text, ranked=False)`."""
        return _plain_where(self.scope, self.teams).bound(using, self.values)

    def span(self, using: str, part: MatchPart, lower: int, upper: int, limit: int) -> list[int]:
        """The newest `limit` search documents matching `part` (one of `_document_match_parts`' for this viewer and
        text) with ids in [lower, upper)."""
        query = _span(self.scope, self.teams, part.place, part.form, lower > 0)
        return [pk for (pk,) in query.rows(using, limit=limit, **self.values, lower=lower, upper=upper)]

    def checked(self, using: str, candidates: Sequence[list[int]], *, best_first: bool) -> list[int]:
        """Of each part's `candidates`, the requests `user` sees, best match first (`best_first`) or newest first."""
        query = _check(self.scope, self.teams, best_first)
        values = {**self.values, **{f"ids{i}": list(found) for i, found in enumerate(candidates)}}
        return [pk for (pk,) in query.rows(using, **values)]


def search_for(user: User | AnonymousUser, text: str) -> Search | None:
    """The compiled search for `user` and `text`, or None where the plain path builds it (a reference, a viewer
    who sees nothing)."""
    scope = scope_of(user)
    if scope is None or reference_from(text):
        return None
    return Search(user, text, scope, tuple(sorted(team_ids(user))))  # type: ignore[arg-type]


def _someone(scope: str, teams: int) -> Any:
    """The stand-in of `scope` with `teams` marker teams (which the document match reads instead of the database)."""
    user = stand_in(scope, vendor=scope == "vendor")
    user._team_ids_cache = frozenset(FIRST_TEAM + i for i in range(teams))  # type: ignore[attr-defined]  # team_ids reads it
    return user


def _markers(teams: int, parts: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = {"user": USER_MARKER, "vendor": VENDOR_MARKER, "text": TEXT}
    found.update({f"team{i}": FIRST_TEAM + i for i in range(teams)})
    found.update({f"ids{i}": [FIRST_IDS + i] for i in range(parts)})
    return found


class _CompiledWhere:
    """A queryset's WHERE clause compiled once per database with markers, bound to new values (as `CompiledList`
    binds a whole query)."""

    def __init__(self, build: Callable[[], QuerySet[Any, Any]], markers: dict[str, Any]) -> None:
        self._build, self._markers = build, markers
        self._compiled: dict[str, tuple[str, tuple[Any, ...], dict[str, list[int]]]] = {}

    def bound(self, using: str, values: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
        compiled = self._compiled.get(using)
        if compiled is None:
            query = self._build().using(using).query
            sql, params = query.get_compiler(using).compile(query.where)
            compiled = self._compiled[using] = (sql, tuple(params), marker_places(params, self._markers))
        sql, params, places = compiled
        return sql, tuple(bind(params, places, values))


@functools.cache
def _plain_where(scope: str, teams: int) -> _CompiledWhere:
    def build() -> QuerySet[Any, Any]:
        someone = _someone(scope, teams)
        return ServiceRequest.objects.visible_to(someone).search_text(TEXT, user=someone, ranked=False)

    return _CompiledWhere(build, _markers(teams))


@functools.cache
def _check(scope: str, teams: int, best_first: bool) -> CompiledList:
    """`_search_window`'s check: each part's candidates with the condition its match takes on the request itself,
    under the request's own `visible_to`; ranked on their documents with `best_first`."""
    parts = len(_document_match_parts(TEXT, _someone(scope, teams)))

    def build(**markers: Any) -> QuerySet[Any, Any]:
        someone = _someone(scope, teams)
        checked = Q()
        for i, part in enumerate(_document_match_parts(TEXT, someone)):
            checked |= part.on_request & Q(IdIn(F("pk"), markers[f"ids{i}"]))
        visible = ServiceRequest.objects.visible_to(someone).filter(checked)
        if best_first:
            rank = _document_rank(TEXT, someone, prefix="search_document__")
            return visible.alias(rank=rank).order_by("-rank", "-pk").values_list("pk")
        return visible.order_by("-pk").values_list("pk")

    return CompiledList(build, _markers(teams, parts))


@functools.cache
def _span(scope: str, teams: int, place: int, form: str, bounded: bool) -> CompiledList:
    """`ServiceRequestQuerySet._span_documents`' read of one part, as `form` writes its match; from `lower` if
    `bounded`."""

    def build(**markers: Any) -> QuerySet[Any, Any]:
        part = _document_match_parts(TEXT, _someone(scope, teams), form=form)[place]
        span = RequestSearchDocument.objects.filter(part.match, service_request_id__lt=markers["upper"])
        if bounded:
            span = span.filter(service_request_id__gte=markers["lower"])
        return span.order_by("-service_request_id").values_list("service_request_id")

    return CompiledList(build, {**_markers(teams), "lower": LOWER, "upper": UPPER})
