"""Reads: the canned responses a user may insert, and the text one of them prefills a comment with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from .models import CannedResponse

if TYPE_CHECKING:
    from portal.models import User


def canned_for(user: User) -> QuerySet[CannedResponse]:
    return CannedResponse.objects.visible_to(user)


def canned_prefill(user: User, canned_id: str | None) -> str:
    """The body of canned response `canned_id` if `user` may use it, else '' (a bad or foreign id is ignored)."""
    if not canned_id or not str(canned_id).isdigit():
        return ""
    canned = canned_for(user).filter(pk=int(canned_id)).first()
    return canned.body if canned else ""
