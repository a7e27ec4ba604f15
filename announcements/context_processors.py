"""The announcements a partner user has not yet acknowledged, for the banner every page shows them."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple

from django.http import HttpRequest
from django.utils import timezone

from portal.compiled import CompiledList
from requests_app.compiled_scope import USER_MARKER, VENDOR_MARKER, stand_in

from .models import Announcement

NOW_MARKER = datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=UTC)  # a time no announcement expires at


class Banner(NamedTuple):
    pk: int
    title: str
    body: str


def _unacknowledged(user: Any, now: datetime | None = None) -> Any:
    return Announcement.objects.for_partner(user, now).unacknowledged_by(user)


# Compiled once per process (`portal.compiled.CompiledList`): every page of a partner asks, and building the
# audience's subqueries took ~4 ms of CPU a page, running them well under one. None: the database adapts times to
# text (SQLite), so the time now is not found among the parameters: the queryset is run as it is.
_COMPILED: list[CompiledList | None] = []


def _compiled() -> CompiledList | None:
    if not _COMPILED:
        someone = stand_in("vendor", vendor=True)
        compiled: CompiledList | None = CompiledList(
            lambda **_: _unacknowledged(someone, NOW_MARKER).values_list("pk", "title", "body"),
            {"user": USER_MARKER, "vendor": VENDOR_MARKER, "now": NOW_MARKER},
            every=True,
        )
        try:
            compiled.compile()  # type: ignore[union-attr]
        except ValueError:
            compiled = None
        _COMPILED.append(compiled)
    return _COMPILED[0]


def banners(user: Any) -> list[Any]:
    """`user`'s current announcements not yet acknowledged, newest first (pk, title and body)."""
    compiled = _compiled()
    if compiled is None:
        return list(_unacknowledged(user))
    return [Banner(*row) for row in compiled.rows(user=user.pk, vendor=user.vendor_id, now=timezone.now())]


def announcement_banners(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.vendor_id:
        return {}
    # Lazy and cached: the query runs only when the page renders the banner, and once.
    return {"announcement_banners": cache(lambda: banners(user))}
