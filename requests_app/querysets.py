"""Reads: the one visibility gate and the chainable filters every list builds on."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Self

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import (
    SearchQuery,
    SearchQueryField,
    SearchRank,
    SearchVectorExact,
    SearchVectorField,
)
from django.db import connections, models
from django.db.models import Case, Exists, Expression, ExpressionWrapper, F, Func, OuterRef, Q, Value, When
from django.db.models.fields.json import KeyTextTransform

from portal.id_list import IdIn
from portal.postgres.planning import custom_plans

from .choices import LINK_EVENT_KINDS, OPEN_STATES, SEARCHABLE_EVENT_KINDS, RequestState

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from portal.models import User

    from .search_compiled import Search


class ServiceRequestQuerySet(models.QuerySet):
    """Chainable filters over requests, starting from `visible_to(user)`."""

    # Set by `search_best_first`: the window's ids best first, and the condition (on them alone) it left.
    _ranked_window: tuple[list[int], Any] | None = None

    def _clone(self) -> Self:
        clone = super()._clone()  # type: ignore[misc]  # not in django-stubs
        clone._ranked_window = self._ranked_window  # checked against the clone's own query when sliced
        return clone

    def __getitem__(self, k: Any) -> Any:
        page = self._ranked_slice(k)
        return super().__getitem__(k) if page is None else page

    def known_count(self) -> int | None:
        """How many rows this `search_best_first` result has, without asking the database: its window's ids (each a
        request's, as `_ranked_slice` says), cut by a slice if one was taken, while no condition has been added
        since; any order. None for any other queryset. Counting the window in SQL read every row of it again."""
        ids = self._window_ids()
        return None if ids is None else len(ids)

    def ranked_ids(self) -> list[int] | None:
        """The ids of this `search_best_first` result, best first (cut by a slice if one was taken), while neither
        a condition nor another order has been added; None otherwise. A page can be read by them alone."""
        return self._window_ids() if self.query.order_by == ("search_position",) else None

    def _window_ids(self) -> list[int] | None:
        window = self._ranked_window
        query = self.query
        if window is None or query.where != window[1] or query.distinct or query.combinator or query.group_by:
            return None  # a condition added, or rows made one: for the database to say
        return window[0][query.low_mark : query.high_mark]

    def _ranked_slice(self, k: Any) -> Self | None:
        """`self[k]` of a `search_best_first` result still in its order, with no condition added: only the rows of
        the slice's ids, the rest of the query as it is. Sliced in SQL, every row of the window (up to 500) was read
        and joined to its related rows, to be sorted by its place and cut to a page of 25 (~4 ms on 1,000,000
        requests). Every id of the window is a request's (read off the requests, or off their documents, which
        exist only with their request), so the slice's rows are those of its ids; a request deleted since would
        leave its page a row short, not shift the pages. None where the query changed since: Django slices it."""
        window = self._ranked_window
        query = self.query
        if window is None or self._result_cache is not None or not isinstance(k, slice) or k.step is not None:
            return None
        if not all(bound is None or (isinstance(bound, int) and bound >= 0) for bound in (k.start, k.stop)):
            return None  # Django refuses negative bounds itself
        ids, where = window
        if (
            query.where != where
            or query.order_by != ("search_position",)
            or query.is_sliced
            or query.distinct
            or query.combinator
            or query.group_by is not None
            or query.extra_order_by
            or query.select_for_update
        ):
            return None
        page = self.all()
        page.query.where = type(self)(model=self.model, using=self.db).filter(IdIn(F("pk"), ids[k])).query.where
        page._ranked_window = None
        return page

    def visible_to(self, user: User) -> Self:
        """eGov DevOps and the PM see all; vendors see their queue; requesters see their teams' requests."""
        from .permissions import VIEW_ALL

        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.has_perm(VIEW_ALL):
            return self
        scope = Q(team__in=user.teams.values("pk")) | Q(requester=user)
        if user.vendor_id:
            scope |= Q(vendor_id=user.vendor_id)
        return self.filter(scope)

    def open(self) -> Self:
        return self.filter(state__in=OPEN_STATES)

    def awaiting_triage(self) -> Self:
        return self.filter(state=RequestState.SUBMITTED)

    def awaiting_approval(self) -> Self:
        return self.filter(state=RequestState.PENDING_APPROVAL)

    def queue_for(self, vendor_id: int) -> Self:
        """A vendor's open work, soonest due first."""
        return self.filter(vendor_id=vendor_id).open().order_by(models.F("response_due_at").asc(nulls_last=True), "pk")

    def created_between(self, start: datetime, end: datetime) -> Self:
        return self.filter(created_at__gte=start, created_at__lt=end)

    def backlog_at(self, at: datetime) -> Self:
        """Backlog at `at`: filed before it and not closed, rejected or cancelled by then (so "resolved, awaiting
        confirmation" still counts). The weekly report's "backlog at end of week" and the lists' `state_group=backlog`
        (at now) both read this."""
        return self.filter(created_at__lt=at).filter(Q(closed_at__isnull=True) | Q(closed_at__gt=at))

    def search(self, text: str) -> Self:
        """Free text over the reference and the title (the API's `q`; `search_text` is the full-text search)."""
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(reference__iexact=text) | Q(reference__icontains=text) | Q(title__icontains=text))

    def search_text(self, text: str, *, user: User | AnonymousUser, ranked: bool = True) -> Self:
        """Full-text search over reference, Jira key, title, description and what people wrote on the timeline;
        internal notes count only where `user` may read them. Apply it to a `visible_to(user)` queryset.

        PostgreSQL: `websearch_to_tsquery` ("quoted phrases", -exclusion, or) against the trigger-kept search
        documents; if `ranked`, best match first among the newest matches (`search_best_first`). Elsewhere (SQLite,
        the embedded default): a case-insensitive substring match over the same text, newest first when `ranked`.
        A list with more filters passes `ranked=False` and calls `search_best_first` after the last of them, so
        that the newest matches are rows the list shows."""
        text = search_text_clean(text)
        if not text:
            return self
        if connections[self.db].vendor != "postgresql":
            found = self._search_substring(text, user)
        else:
            match = _search_match(text, user)
            found = self.filter(match)
        return found.search_best_first(text, user=user) if ranked else found

    def search_best_first(self, text: str, *, user: User | AnonymousUser, window: int | None = None) -> Self:
        """The newest `window` rows (`PORTICO_SEARCH_RANK_WINDOW`) of this `search_text(text, ranked=False)`
        result, every filter applied, best match first (title and reference weigh most, then the description,
        then comments), ties newest first, annotated with `search_position` (1 for the best). Older matches are
        left out: a list sorted by a column (the API's `ordering`, the page's `sort`) has every match. SQLite:
        every row, newest first. On PostgreSQL it reads the window's ids and their order when called.

        A common word matches a third of all requests (~330,000 of 1,000,000), and ranking every match read and
        sorted all their documents (seconds); only the window is ranked, on the search documents alone."""
        text = search_text_clean(text)
        if not text or connections[self.db].vendor != "postgresql":
            return self.order_by("-pk")
        window = settings.PORTICO_SEARCH_RANK_WINDOW if window is None else window
        # The window's ids and their order are read here: a page and its count (the API's, the page's "1,000+")
        # then read at most `window` requests by id, ordered by their place in that list, instead of finding the
        # window again each and joining every row of it to its document to rank it. As a subquery joined to the
        # requests it came last, after every match had been joined to its request and related rows: the
        # connection keeps Django's join order (`join_collapse_limit`, portal/settings/base.py).
        with custom_plans(self.db):  # each read's plan depends on the words and the viewer (portal/postgres)
            ranked_ids = self._search_window(text, user=user, window=window, best_first=True)
        position = Func(
            Value(ranked_ids, output_field=ArrayField(models.BigIntegerField())),
            F("pk"),
            function="array_position",
            output_field=models.IntegerField(),
        )
        fresh = type(self)(model=self.model, using=self.db)  # the window's ids stand for every other condition
        ranked = fresh.filter(IdIn(F("pk"), ranked_ids)).annotate(search_position=position)
        related = self.query.select_related
        if isinstance(related, dict):
            ranked = ranked.select_related(*_related_paths(related))
        elif related:
            ranked = ranked.select_related()
        ranked = ranked.prefetch_related(*getattr(self, "_prefetch_related_lookups", ()))
        ranked = ranked.order_by("search_position")
        ranked._ranked_window = (ranked_ids, ranked.query.where.clone())  # a page of it reads its own rows only
        return ranked

    def _documents(self) -> models.QuerySet:
        from .models import RequestSearchDocument

        return RequestSearchDocument.objects.using(self.db)

    def _ranked(self, ids: list[int], text: str, user: User | AnonymousUser) -> list[int]:
        """`ids` (search matches for `user`) best match first, ties newest first, ranked on their documents alone."""
        if not ids:
            return []
        return list(
            self._documents()
            .filter(IdIn(F("service_request_id"), ids))  # one array: 500 placeholders cost more to build than to run
            .annotate(rank=_document_rank(text, user))
            .order_by("-rank", "-service_request_id")
            .values_list("service_request_id", flat=True)
        )

    def _search_window(
        self, text: str, *, user: User | AnonymousUser, window: int, best_first: bool = False
    ) -> list[int]:
        """The ids of the newest `window` rows of this search result, newest first, or with `best_first` in
        `search_best_first`'s order (ranked in the query that checks the candidates, where there is one).

        The candidates are the newest `window` search documents that match for this user, read off the documents
        alone, span by span of ids from the newest (`_newest_documents`): their keys stand for `visible_to`
        (migration 0024), so one index answers match and visibility (for a vendor's people, their vendor's
        documents by (vendor, id), apart from those of their teams and their own requests: read apart). A word, a
        phrase, several words, `-exclusion` and `or` take this path; a reference or a Jira key too, without spans.
        Where this list is nothing but `visible_to(user).search_text(text)` (the same conditions,
        compiled), the request's own `visible_to` and the notes rule are checked on the candidates alone, by id,
        with no second full-text match. A list with other filters applies them all to the candidates; where that
        leaves some out and older matches may remain, the window is found among every match instead, as before (a
        list filtered by state, say).

        The candidates are read as a list first: as a subquery, or re-matched by the list's own query, the planner
        drove from the full-text index over every match (a phrase is estimated at a few rows)."""
        newest = self.order_by("-pk").values_list("pk", flat=True)
        rare = rare_term(text)
        walk = bool(PHRASE.search(text)) and not rare
        indexed = _document_match_parts(text, user)
        walked = _document_match_parts(text, user, form=WALKED)
        unestimated = _document_match_parts(text, user, form=UNESTIMATED)
        from .search_compiled import search_for  # which builds on this module

        # The reads below are built once per process and viewer scope where they can be (`search_compiled`), here
        # otherwise: the same SQL either way.
        compiled = search_for(user, text)
        # The newest id bounds the spans; a search whose parts are all read in one query needs none.
        spans = not rare and any(part.spans for part in indexed)
        top = (self._documents().aggregate(top=models.Max("service_request_id"))["top"] or 0) if spans else 0
        parts = [
            (self._newest_documents(part, forms, window, top, walk=walk, rare=rare, compiled=compiled), part)
            for part, *forms in zip(indexed, walked, unestimated, strict=True)
        ]
        candidates = sorted((pk for found, _ in parts for pk in found), reverse=True)[:window]
        if not candidates:
            return []
        if compiled is not None:
            plain_where, sees_all = compiled.plain_where(self.db), compiled.sees_all
        else:
            plain = self._visible_alone(user)
            plain_where = plain.search_text(text, user=user, ranked=False)._where_sql()
            sees_all = not plain.query.where
        if self._where_sql() == plain_where:
            if best_first and sees_all and not any(part.on_request for _, part in parts):
                # Everything is visible and every note readable (eGov DevOps, the PM): each candidate is a document
                # of an existing request (they go together), so ranking the documents is the check.
                return self._ranked(candidates, text, user)
            # Each part's candidates with the condition its match takes on the request itself (a vendor's people
            # read the notes only where the request is their vendor's): no join to the documents, whose OR with
            # the request's columns cost the planner more than the query (90-450 ms on 100,000 requests). With
            # `best_first` the same query ranks them, joined to their documents by id (one query, not two).
            oldest = candidates[-1]
            newest_of_each = [[pk for pk in found if pk >= oldest] for found, _ in parts]
            if compiled is not None:
                return compiled.checked(self.db, newest_of_each, best_first=best_first)
            checked = Q()
            for found, (_, part) in zip(newest_of_each, parts, strict=True):
                checked |= part.on_request & Q(IdIn(F("pk"), found))
            visible = self._visible_alone(user).filter(checked)
            if best_first:
                rank = _document_rank(text, user, prefix="search_document__")
                return list(visible.alias(rank=rank).order_by("-rank", "-pk").values_list("pk", flat=True))
            return list(visible.order_by("-pk").values_list("pk", flat=True))
        ids = list(newest.filter(IdIn(F("pk"), candidates))[:window])
        if len(ids) < len(candidates) == window:
            ids = list(newest[:window])
        return self._ranked(ids, text, user) if best_first else ids

    def _visible_alone(self, user: User | AnonymousUser) -> Self:
        """`visible_to(user)` of this model and database, and no other condition."""
        return type(self)(model=self.model, using=self.db).visible_to(user)  # type: ignore[arg-type]  # none() for anonymous

    def _newest_documents(
        self,
        part: MatchPart,
        forms: list[MatchPart],
        window: int,
        top: int,
        *,
        walk: bool,
        rare: bool,
        compiled: Search | None,
    ) -> list[int]:
        """The ids of the newest `window` search documents that match `part`, newest first, read down from `top`:
        the newest `window * SEARCH_FIRST_SPAN * (1 + SEARCH_SPAN_GROWTH)` ids (50,000 for 500) in one read, then
        what is still missing below them (`_older_documents`). `forms` are the same part written `WALKED` and
        `UNESTIMATED`. A phrase (`walk`) reads those ids in two spans instead, the newest fifth first and the rest
        only if the window is not full yet: the first `WALKED`, through the id's btree, checking each document of
        the span; the second `UNESTIMATED` (the GIN index ANDed with the range's btree, whatever the estimate).

        Under one `ORDER BY id LIMIT` a phrase or several words were misestimated (a phrase matching 48,000 of
        1,000,000 documents estimated at 4,400) and the plan picked for the estimate read every document holding
        the words (0.3-0.6 s on 1,000,000 requests); under an id range the planner's worst is a walk of the range
        or the GIN bitmap of the words' matches. A phrase is lossy in GIN: with the range left as a filter every
        document holding its words, in the whole table, was rechecked (`crash-looping`: 260-340 ms a span), and
        walked a span costs its size whatever the words (tens of ms); so its first span is short. Words without a
        phrase are exact in GIN, and the planner's estimate of them is near enough in a range: read in two spans,
        where the first did not fill the window (most searches of a vendor's people) the GIN bitmap of every match
        in the table was built twice (`rollback -helm`: 52,435 entries, ~9 and ~12 ms, bench/RESULTS.md session 20).

        A part of few documents (a person's own requests, no team: `MatchPart.spans` off) is read in one query, the
        person's btree (requester, id) bounding it: in steps it usually found nothing and ran all three. So is a
        `rare` term (a reference, a Jira key), through the GIN index alone (`_gin_newest`): it is in a few
        documents, and the newest spans read for it found nothing for most."""
        walked, unestimated = forms
        if not part.spans:
            return self._span_documents(part, 0, BIGINT_MAX, window, compiled)  # every id is below BIGINT_MAX
        if rare:
            return self._gin_newest(unestimated.match, window)
        upper = top + 1
        first = window * SEARCH_FIRST_SPAN
        bottom = max(upper - first * (1 + SEARCH_SPAN_GROWTH), 0)
        if walk:
            found, upper = self._phrase_spans(forms, window, upper, bottom, compiled)
        else:
            found, upper = self._span_documents(part, bottom, upper, window, compiled), bottom
        if upper <= 0 or len(found) >= window:
            return found
        # Their density is counted from the newest match the spans found, not from the top: newer requests that do
        # not match (a vendor's newest, filed since, on other matters) said nothing of how far down the rest are, and
        # counted in they sent `postgresql instance` (164 missing) to the GIN read, 54 ms, for a 39,000-id walk.
        return found + self._older_documents(
            walked,
            unestimated,
            window - len(found),
            len(found),
            (found[0] if found else top) - upper + 1,
            upper,
            first * SEARCH_SPAN_GROWTH,
            compiled,
        )

    def _phrase_spans(
        self, forms: list[MatchPart], window: int, upper: int, bottom: int, compiled: Search | None
    ) -> tuple[list[int], int]:
        """A phrase's newest matches among the ids [bottom, upper) (`_newest_documents`), newest first, and the
        lowest id read: the newest `window * SEARCH_FIRST_SPAN` walked, then the rest as below."""
        walked, unestimated = forms
        first = window * SEARCH_FIRST_SPAN
        lower = max(upper - first, 0)
        found = self._span_documents(walked, lower, upper, window, compiled)
        # The second span is read through the GIN index and the id's btree together, the words hidden from the
        # estimate; but where twice the ids the first span's density puts the missing matches within fit in the
        # second span, those are walked first, and only what the walk leaves missing is read the ANDed way. Walked,
        # a vendor's 40,000 ids cost 25-35 ms on 1,000,000 requests; but a phrase's GIN bitmap holds every document
        # with all its words, not only those where they stand together, and costs what each word's posting list
        # does, whatever the phrase's own density: `"cluster access"`, 260 matches in a vendor engineer's first
        # span, built a bitmap of 83,201 documents for the 240 missing, 31 ms, where the walk takes ~12
        # (bench/RESULTS.md, session 20).
        read, upper = upper - lower, lower
        if found and upper > 0 and len(found) < window:
            span = SEARCH_WALK_MARGIN * ((window - len(found)) * read // len(found) + 1)
            if span <= read * SEARCH_SPAN_GROWTH:
                lower = max(upper - span, bottom)
                found += self._span_documents(walked, lower, upper, window - len(found), compiled)
                upper = lower
        if upper > bottom and len(found) < window:
            found += self._span_documents(unestimated, bottom, upper, window - len(found), compiled)
            upper = bottom
        return found, upper

    def _older_documents(
        self,
        walked: MatchPart,
        unestimated: MatchPart,
        missing: int,
        found: int,
        read: int,
        upper: int,
        longest: int,
        compiled: Search | None,
    ) -> list[int]:
        """The newest `missing` matching documents below id `upper`, after `found` matches among the `read` newer
        ids: as the spans found them, walked down the btree (`walked`) when that should reach them within `longest`
        ids and cost less than reading every older match through the GIN index; otherwise, and for what that
        walk leaves missing, every older match through the GIN index (`unestimated`), newest first. A walk that
        falls short goes on for twice as many ids each time, as long as all it walked stays within those bounds:
        `"node pool"` for a vendor engineer on 1,000,000 requests was one match short after the spans, walked 202
        ids for it and found none, and read all 26,103 older matches of the two words (a phrase is rechecked on
        every one) for that one: 64 ms, where the next 404 ids held it.

        Left to the planner, this step went wrong both ways, the estimates of several words being independent: a
        rare word with an exclusion (`nda -sign`, no match: every NDA is signed) was walked down the whole table
        (1.4 s on 1,000,000 requests), `NOT sign` estimated as nearly everything; two words always written together
        (`postgresql instance`, 684 documents estimated for 25,961) were read through the GIN index, every match
        fetched (22,788 heap pages, ~150 ms), where walking back would have stopped after ~2,000 documents. The
        matches the spans found tell how dense they are; the GIN index evaluates an exclusion itself (exact for
        words), so that read costs what the positive words match, never a walk of the table."""
        older: list[int] = []
        if found:
            reach = missing * read // found + 1  # ids to walk down, at the density the spans saw
            expected = found * upper // read  # matches below `upper`, at that density: what the GIN read fetches
            span = SEARCH_WALK_MARGIN * reach
            # All walks together: at most `longest` ids, and no more than the margin times what the GIN read costs
            # (`expected` fetched matches at SEARCH_WALK_GIN_COST walked ids each); the first walk's test as before.
            left = min(longest, SEARCH_WALK_MARGIN * SEARCH_WALK_GIN_COST * expected)
            while span <= left and upper > 0 and len(older) < missing:
                lower = max(upper - span, 0)
                older += self._span_documents(walked, lower, upper, missing - len(older), compiled)
                left -= upper - lower
                upper = lower
                span *= 2
        if len(older) < missing and upper > 0:
            older += self._gin_newest(unestimated.match & Q(service_request_id__lt=upper), missing - len(older))
        return older

    def _span_documents(
        self, part: MatchPart, lower: int, upper: int, limit: int, compiled: Search | None
    ) -> list[int]:
        """The newest `limit` documents matching `part` with ids in [lower, upper) (by `compiled`'s SQL if given)."""
        if compiled is not None:
            return compiled.span(self.db, part, lower, upper, limit)
        span = self._documents().filter(part.match, service_request_id__lt=upper)
        if lower > 0:
            span = span.filter(service_request_id__gte=lower)
        return list(span.order_by("-service_request_id").values_list("service_request_id", flat=True)[:limit])

    def _gin_newest(self, unestimated: Q, limit: int) -> list[int]:
        """The newest `limit` documents matching `unestimated` (an `UNESTIMATED` match), read through the GIN index:
        the planner sees neither the words (so it estimates the match as rare: the GIN index, not a scan of the
        table) nor an order its btrees give (`id + 0`: no walk down an index that may never find the matches)."""
        order = ExpressionWrapper(F("service_request_id") + 0, output_field=models.BigIntegerField())
        found = self._documents().filter(unestimated).order_by(order.desc())
        return list(found.values_list("service_request_id", flat=True)[:limit])

    def _where_sql(self) -> tuple[str, tuple[Any, ...]]:
        compiler = self.query.get_compiler(self.db)
        sql, params = compiler.compile(self.query.where)
        return sql, tuple(params)

    def _search_substring(self, text: str, user: User | AnonymousUser) -> Self:
        from .models import RequestEvent

        messages = RequestEvent.objects.filter(
            service_request=OuterRef("pk"), kind__in=SEARCHABLE_EVENT_KINDS, message__icontains=text
        )
        notes = internal_notes_scope(user, prefix="service_request__")
        if notes is None:
            messages = messages.filter(internal=False)
        elif notes != Q():
            messages = messages.filter(Q(internal=False) | notes)
        return self.filter(
            Q(reference__icontains=text)
            | Q(jira_key__icontains=text)
            | Q(title__icontains=text)
            | Q(description__icontains=text)
            | Exists(messages)
        )

    def with_related(self) -> Self:
        return self.select_related("environment", "stack", "team", "vendor", "requester", "assignee")


class RequestEventQuerySet(models.QuerySet):
    """Events are append-only: no bulk update or delete path exists."""

    def update(self, **kwargs: object) -> int:
        from .models import AppendOnlyError

        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        from .models import AppendOnlyError

        raise AppendOnlyError("Audit events cannot be deleted.")

    def visible_to(self, user: User) -> Self:
        """Events of requests the user can see; internal notes only for staff and the request's vendor; a link
        event only if the user can see the other request too (a partner never learns another vendor's request
        exists)."""
        from .models import ServiceRequest

        visible = ServiceRequest.objects.visible_to(user)
        events = self.filter(service_request__in=visible.values("pk"))
        if visible.query.where:  # not everything: hide links to requests out of sight
            # A correlated lookup by the unique reference, not `IN (every visible reference)`: the planner read
            # the whole visible set (~400,000 rows for a vendor on 1,000,000 requests) for every timeline.
            events = events.alias(link_other=KeyTextTransform("other", "payload")).exclude(
                Q(kind__in=LINK_EVENT_KINDS), ~Exists(visible.filter(reference=OuterRef("link_other")))
            )
        notes = internal_notes_scope(user, prefix="service_request__")
        if notes is None:
            return events.filter(internal=False)
        return events if notes == Q() else events.filter(Q(internal=False) | notes)


def internal_notes_scope(user: User | AnonymousUser, prefix: str = "") -> Q | None:
    """Requests whose internal notes `user` may read, as a condition on requests (`prefix` from another model):
    `Q()` for all (eGov DevOps, the PM), their vendor's requests for a vendor's people, None for no one else.
    The per-request form of the same rule is `permissions.sees_internal_notes`."""
    from .permissions import VIEW_ALL

    if user is None or not user.is_authenticated:
        return None
    if user.has_perm(VIEW_ALL):
        return Q()
    if user.vendor_id:
        return Q(**{f"{prefix}vendor_id": user.vendor_id})
    return None


SEARCH_MAX_LENGTH = 200
# A search window is read from the newest 20 * (1 + 4) ids per place (50,000 for 500), then the rest: words in one
# read, a phrase in two spans (the newest 20 per place, then four times as many).
SEARCH_FIRST_SPAN = 20
SEARCH_SPAN_GROWTH = 4
BIGINT_MAX = 2**63 - 1
# Below the spans, the missing matches are walked for only twice the ids the spans' density puts them within.
SEARCH_WALK_MARGIN = 2
# A match read through the GIN index costs several walked documents: a random heap page each, and for a vendor's part
# every other vendor's matches are fetched too (the GIN index holds no vendor).
SEARCH_WALK_GIN_COST = 4
# How `_document_match_parts` writes the match (see there).
INDEXED, WALKED, UNESTIMATED = "indexed", "walked", "unestimated"
# A phrase, whose bounded spans are read through a btree, the GIN index left aside (`_newest_documents`): quoted
# words, or a word joined by punctuation the parser splits into several (`crash-looping`, `v1.2`).
PHRASE = re.compile(r'"|\w[^\w\s"]+\w')
JIRA_KEY_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[0-9]+")
REFERENCE_PATTERN = re.compile(r"(?i)^(?:req-?)?0*([1-9][0-9]{0,8})$")


def search_text_clean(text: str) -> str:
    """The search words as the database can take them: no NUL (PostgreSQL text refuses it), at most 200 characters."""
    return text.replace("\x00", "").strip()[:SEARCH_MAX_LENGTH]


def rare_term(text: str) -> bool:
    """A reference written as one (`REQ-000123`, `req123`) or a Jira key: a term in a few documents at most. A bare
    number is a reference too, but also a word that many descriptions hold (`502`)."""
    return bool(reference_from(text) and not text.isdigit()) or bool(JIRA_KEY_PATTERN.fullmatch(text))


def reference_from(text: str) -> str | None:
    """`REQ-000123` for "REQ-000123", "req123" or "123": a bare number finds its request, as the old search did."""
    match = REFERENCE_PATTERN.match(text)
    return f"REQ-{int(match.group(1)):06d}" if match else None


def _search_query(text: str) -> SearchQuery:
    query = SearchQuery(text, search_type="websearch", config="english")
    reference = reference_from(text)
    if reference:
        # The document holds the reference (weight A), so it is matched through the GIN index like any word: an OR
        # with the request's own column kept PostgreSQL off every index (seconds on 1,000,000 requests).
        query = query | SearchQuery(reference, search_type="phrase", config="english")
    return query


def _search_match(text: str, user: User | AnonymousUser) -> Q:
    """The full-text match of `text` on a request's search document (the public or the internal one, as `user`
    may read its notes; a bare number or `REQ-…` also finds that reference)."""
    match = document_match(text, user, prefix="search_document__")
    notes = internal_notes_scope(user)
    if notes is not None and notes != Q():
        # The notes are read where the request itself is the user's vendor's, whatever its document says.
        theirs = Q(search_document__vendor_id=_vendor_of(user))
        match &= (notes & theirs) | (~notes & ~theirs)
    return match


def _document_rank(text: str, user: User | AnonymousUser, prefix: str = "") -> Expression:
    """The rank of a matching search document (`prefix` from a request) for `user`: of the internal one where they
    may read its notes."""
    query = _search_query(text)
    public_rank: Expression = SearchRank(F(f"{prefix}public"), query)
    notes = internal_notes_scope(user)
    if notes is None:
        return public_rank
    internal_rank = SearchRank(F(f"{prefix}internal"), query)
    if notes == Q():
        return internal_rank
    return Case(When(**{f"{prefix}vendor_id": _vendor_of(user)}, then=internal_rank), default=public_rank)


def document_match(text: str, user: User | AnonymousUser, *, prefix: str = "") -> Q:
    """The search documents (`prefix` from a request) that match `text` for `user`, narrowed by the keys the
    triggers copy from the request (migration 0024): a vendor's people match their vendor's documents with the
    internal notes and those of their teams' and their own requests without them; a requester those of their
    teams' and their own; eGov DevOps and the PM every internal document. One GIN index scan answers the match and
    the narrowing: a common word no longer collects 100,000+ documents of requests the user cannot see. The
    request's own `visible_to` still decides what is shown; these only find the candidates."""
    match = Q()
    for part in _document_match_parts(text, user, prefix=prefix):
        match |= part.match
    return match


class TextSearchMatch(Func):
    """`vector @@ query` for any two expressions (Django's lookup takes a plain query only)."""

    arg_joiner = " @@ "
    template = "(%(expressions)s)"
    output_field = models.BooleanField()


class MatchPart(NamedTuple):
    """One disjoint part of `document_match`."""

    match: Q  # on the search documents
    on_request: Q  # the condition its match takes on the request itself
    spans: bool  # read span by span of ids; off for a person's own requests alone (few: one query)
    place: int = 0  # its place among `_document_match_parts`' parts
    form: str = INDEXED  # how its match is written


def _document_match_parts(
    text: str, user: User | AnonymousUser, *, prefix: str = "", form: str = INDEXED
) -> list[MatchPart]:
    """`document_match` as disjoint parts, each of which one index walks in id order (a vendor's own documents by
    (vendor, id) or the GIN index on the internal vectors; those of the user's teams and own requests), each with the
    condition its match takes on the request itself: the internal notes only where the request is the vendor's.
    `form`: `INDEXED`, as the GIN indexes answer it; `WALKED`, in a form they cannot answer, so an id range is read
    through a btree; `UNESTIMATED`, for the GIN indexes with the words hidden from the planner's estimate."""
    query = _search_query(text)

    def matches(vector: str) -> Q:
        if form == INDEXED:
            return Q(**{f"{prefix}{vector}": query})
        if form == WALKED:
            unindexed = Func(F(f"{prefix}{vector}"), template="COALESCE(%(expressions)s, ''::tsvector)")
            return Q(SearchVectorExact(ExpressionWrapper(unindexed, output_field=SearchVectorField()), query))
        # A scalar subquery is a parameter to the planner, not a constant: it estimates the match at its default
        # (0.5 % of the documents) instead of from the words' statistics, and the GIN index still answers it.
        hidden = Func(query, template="(SELECT %(expressions)s)", output_field=SearchQueryField())
        return Q(TextSearchMatch(F(f"{prefix}{vector}"), hidden))

    notes = internal_notes_scope(user)
    if notes == Q():
        return [MatchPart(matches("internal"), Q(), spans=True, form=form)]
    scope, teams = _document_scope(user, prefix)
    if notes is None:
        return [MatchPart(scope & matches("public"), Q(), spans=teams, form=form)]
    theirs = Q(**{f"{prefix}vendor_id": _vendor_of(user)})
    return [
        MatchPart(theirs & matches("internal"), notes, spans=True, place=0, form=form),
        MatchPart(~theirs & scope & matches("public"), ~notes, spans=teams, place=1, form=form),
    ]


def _vendor_of(user: User | AnonymousUser) -> int | None:
    return getattr(user, "vendor_id", None)


def _document_scope(user: User | AnonymousUser, prefix: str) -> tuple[Q, bool]:
    """The search documents of requests `user` sees through a team or as their requester (`visible_to`'s scope
    apart from a vendor's own requests), on the document's keys, nothing for no one; and whether a team is among
    them (without, they are the person's own requests alone: few)."""
    from .permissions import team_ids

    if user is None or not user.is_authenticated or user.pk is None:
        return Q(pk__in=[]), False
    teams = sorted(team_ids(user))  # read once per user object: a search builds its match up to four times
    scope = Q(**{f"{prefix}requester_id": user.pk})
    return (Q(**{f"{prefix}team_id__in": teams}) | scope, True) if teams else (scope, False)


def _related_paths(related: dict[str, Any], prefix: str = "") -> list[str]:
    """`select_related`'s nested dict as the paths that rebuild it (`{"a": {"b": {}}}` → `["a__b"]`)."""
    paths = []
    for name, deeper in related.items():
        paths.extend(_related_paths(deeper, f"{prefix}{name}__") if deeper else [f"{prefix}{name}"])
    return paths
