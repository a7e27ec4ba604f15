"""Reads: the canned responses a user may insert, and the text one of them prefills a comment with."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from portal.compiled import CompiledObjects

from .models import CannedResponse

if TYPE_CHECKING:
    from portal.models import User


def canned_for(user: User) -> QuerySet[CannedResponse]:
    return CannedResponse.objects.visible_to(user)


def _canned_of(shape: str, **markers: int) -> QuerySet[CannedResponse]:
    from requests_app.compiled import stand_in

    return canned_for(stand_in(shape))


@functools.cache
def _canned_query() -> CompiledObjects:
    from requests_app.compiled import VIEWER

    return CompiledObjects(_canned_of, {"vendor": VIEWER["vendor"]})


def canned_for_page(user: User) -> list[CannedResponse]:
    """`list(canned_for(user))` through SQL compiled once per process and kind of viewer (`requests_app.compiled`):
    the request page's picker reads it on every visit."""
    from requests_app.compiled_scope import scope_of

    shape = scope_of(user)
    if shape is None or shape == "member":  # no set of their own: `visible_to` is empty for them
        return []
    return _canned_query().objects(shape, vendor=user.vendor_id)


def canned_prefill(user: User, canned_id: str | None) -> str:
    """The body of canned response `canned_id` if `user` may use it, else '' (a bad or foreign id is ignored)."""
    if not canned_id or not str(canned_id).isdigit():
        return ""
    canned = canned_for(user).filter(pk=int(canned_id)).first()
    return canned.body if canned else ""
