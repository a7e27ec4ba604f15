"""Search result snippets: a few words around each match, highlighted, safe to put in a page.

The ranking and matching live on the queryset (`ServiceRequestQuerySet.search_text`); this module only builds
what a results page shows under each title, for the rows of one page (never the whole result)."""

from __future__ import annotations

import functools
import html
import re
from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F, QuerySet
from django.utils.safestring import SafeString, mark_safe

from portal.compiled import CompiledList
from portal.id_list import IdIn

from .choices import SEARCHABLE_EVENT_KINDS
from .compiled import VIEWER, stand_in
from .compiled_scope import scope_of
from .models import RequestEvent
from .querysets import search_text_clean

if TYPE_CHECKING:
    from portal.models import User

# PostgreSQL marks matches with these two control characters, which are stripped from the text first, so that
# after escaping everything only Portico's own <mark> tags can appear: user text can never open or close one.
START, STOP = "\x02", "\x03"
UNSAFE = re.compile("[\x00\x02\x03]")
HEADLINE_OPTIONS = f"StartSel={START}, StopSel={STOP}, MaxWords=24, MinWords=10, MaxFragments=2, FragmentDelimiter=…"
HEADLINE_SQL = """
SELECT t.id, ts_headline('english'::regconfig, t.doc, websearch_to_tsquery('english'::regconfig, %s), %s)
  FROM unnest(%s::bigint[], %s::text[]) AS t(id, doc)
"""
FALLBACK_WORDS = 24
IDS = [-(2**62) + 113]  # the page's ids in a compiled timeline read: a value no list of ids holds


def search_snippets(
    descriptions: Mapping[int, str], text: str, *, user: User, using: str = DEFAULT_DB_ALIAS
) -> dict[int, SafeString]:
    """For each request (id → its description), its description and the timeline text `user` may read, cut to the
    words around the match with each match in <mark>; everything else HTML-escaped. One query for the messages, one
    for the snippets."""
    text = search_text_clean(text)
    if not text or not descriptions:
        return {}
    documents = _documents(descriptions, user, using)
    connection = connections[using]
    if connection.vendor == "postgresql":
        ids = list(documents)
        with connection.cursor() as cursor:
            cursor.execute(HEADLINE_SQL, [text, HEADLINE_OPTIONS, ids, [documents[i] for i in ids]])
            marked = dict(cursor.fetchall())
    else:
        marked = {pk: _substring_headline(doc, text) for pk, doc in documents.items()}
    return {pk: snippet_html(value) for pk, value in marked.items()}


def snippet_html(marked: str) -> SafeString:
    """Escape `marked` (text with START/STOP around matches) and turn the markers into <mark> tags."""
    escaped = html.escape(marked.replace("\x00", ""))
    if escaped.count(START) != escaped.count(STOP):  # never expected; plain text beats broken markup
        return mark_safe(UNSAFE.sub("", escaped))  # escaped just now
    return mark_safe(escaped.replace(START, "<mark>").replace(STOP, "</mark>"))  # everything else escaped above


def _messages(user: User, ids: list[int]) -> QuerySet[RequestEvent, tuple[int, str]]:
    """What people wrote on the timelines of requests `ids` that `user` may read, oldest first per request."""
    return (
        RequestEvent.objects.visible_to(user)
        # One array of ids, not an IN list: prepared, PostgreSQL keeps the generic plan (0.2 ms), where the list's
        # estimates had it plan every run anew (1.6 ms of planning for 0.15 ms of execution: bench/RESULTS.md).
        .filter(IdIn(F("service_request_id"), ids), kind__in=SEARCHABLE_EVENT_KINDS)
        .exclude(message="")
        .order_by("service_request_id", "pk")
        .values_list("service_request_id", "message")
    )


@functools.cache
def _messages_compiled(shape: str) -> CompiledList:
    """`_messages` compiled once per process and viewer shape (`requests_app.compiled`): built with its visibility
    gate (a vendor's person's has the link check's subqueries) it cost a vendor engineer's search page ~4 ms of
    CPU (bench/RESULTS.md, session 19's findings), run ~0.5 ms."""
    return CompiledList(lambda **m: _messages(stand_in(shape), m["ids"]), {**VIEWER, "ids": IDS})


def _documents(descriptions: Mapping[int, str], user: User, using: str) -> dict[int, str]:
    messages: dict[int, list[str]] = defaultdict(list)
    ids = list(descriptions)
    shape = scope_of(user)
    visible: list[tuple[int, str]] | list[tuple[Any, ...]]
    if shape is None:
        visible = list(_messages(user, ids).using(using))
    else:
        visible = _messages_compiled(shape).rows(using, user=user.pk, vendor=user.vendor_id, ids=ids)
    for request_id, message in visible:
        messages[request_id].append(message)
    return {pk: UNSAFE.sub("", " … ".join([description, *messages[pk]])) for pk, description in descriptions.items()}


def _substring_headline(document: str, text: str) -> str:
    """SQLite's stand-in for ts_headline: the words around the first case-insensitive match, marked."""
    at = document.lower().find(text.lower())
    if at < 0:
        return " ".join(document.split()[:FALLBACK_WORDS])
    before = document[:at].split()[-FALLBACK_WORDS // 2 :]
    after = document[at + len(text) :].split(" ")
    tail = " ".join(after)[: len(" ".join(after[: FALLBACK_WORDS // 2]))]
    return f"{' '.join(before)} {START}{document[at : at + len(text)]}{STOP}{tail}".strip()
