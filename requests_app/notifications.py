"""The in-portal notification list: what a person may still see of what they were told.

Who is told about which event (and the e-mail, chat and digests) is the conversations app's notification matrix;
this module only reads and marks the rows it wrote.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone

from portal.compiled import CompiledList

from .compiled_scope import markers, scope_of, stand_in
from .models import Notification, RequestEvent

if TYPE_CHECKING:
    from portal.models import User


def notification_list(*, user: User) -> QuerySet[Notification]:
    """`user`'s notifications about events they may still see, newest first."""
    if not user.is_authenticated:
        return Notification.objects.none()
    # Through the events' gate, so a request that left the user's scope (or an internal note) drops out.
    visible_events = RequestEvent.objects.visible_to(user).values("pk")
    return Notification.objects.filter(user=user, event__in=visible_events)


def _unread(user: User) -> QuerySet[Notification]:
    return notification_list(user=user).filter(read_at__isnull=True)


# The count every page's navigation shows, compiled once per scope (`compiled_scope`): building the events' gate
# for each page took ~5 ms of CPU, the COUNT itself well under one.
_UNREAD_COUNTS: dict[tuple[str, bool], CompiledList] = {}
# Past this many the navigation says "99+": each unread row is checked against its event's visibility, and a
# program manager with 4,752 unread took 14 ms of PostgreSQL on every page (bench/RESULTS.md, "Prepared statements").
UNREAD_SHOWN = 99


def notification_unread_count(*, user: User) -> int:
    """How many of `user`'s visible notifications are unread, counted up to `UNREAD_SHOWN + 1` (one COUNT over the
    (user, read_at) index, stopping there)."""
    cap = UNREAD_SHOWN + 1
    scope = scope_of(user)
    if scope is None:
        return _unread(user).order_by()[:cap].count()
    vendor = bool(user.vendor_id)
    compiled = _UNREAD_COUNTS.get((scope, vendor))
    if compiled is None:
        someone = stand_in(scope, vendor=vendor)
        found = markers(scope, vendor=vendor and scope == "vendor", user_always=True)
        compiled = _UNREAD_COUNTS[scope, vendor] = CompiledList(
            lambda **_: _unread(someone).order_by().values_list("pk"), found
        )
    return compiled.count(cap=cap, user=user.pk, vendor=user.vendor_id)


def unread_label(count: int) -> str:
    """The count as the navigation shows it: "99+" past `UNREAD_SHOWN`, nothing for none."""
    if not count:
        return ""
    return f"{UNREAD_SHOWN}+" if count > UNREAD_SHOWN else str(count)


def notifications_mark_read(*, user: User) -> int:
    """Mark every unread notification of `user` read; returns how many changed (repeating it changes none)."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
