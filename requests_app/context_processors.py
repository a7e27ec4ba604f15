"""Template context every page needs: the viewer's role for the navigation and the user menu, and their unread
notifications."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.http import HttpRequest

from .notifications import notification_unread_count, unread_label
from .permissions import files_requests, sees_reports
from .roles import Role, role_of


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    role = role_of(user)
    return {
        "viewer_role": role,
        "Role": Role,
        # Filing is for members of an implementation team; the callable keeps the query lazy.
        "viewer_can_file": lambda: files_requests(user),
        # The rule reports.selectors applies: staff see every report, vendor leads their own vendor's.
        "viewer_sees_reports": sees_reports(user),
        # One COUNT, run only if a template shows it and at most once per response (cache), however often it is used.
        # ("99+" past 99, `notifications.UNREAD_SHOWN`).
        "unread_notifications": cache(lambda: unread_label(notification_unread_count(user=user))),
        "notification_poll_seconds": settings.PORTICO_NOTIFY_POLL_SECONDS,
    }
