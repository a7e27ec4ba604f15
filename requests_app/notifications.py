"""The in-portal notification list: what a person may still see of what they were told.

Who is told about which event (and the e-mail, chat and digests) is the conversations app's notification matrix;
this module only reads and marks the rows it wrote.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone

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


def notification_unread_count(*, user: User) -> int:
    """How many of `user`'s visible notifications are unread: one COUNT over the (user, read_at) index."""
    return notification_list(user=user).filter(read_at__isnull=True).count()


def notifications_mark_read(*, user: User) -> int:
    """Mark every unread notification of `user` read; returns how many changed (repeating it changes none)."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
