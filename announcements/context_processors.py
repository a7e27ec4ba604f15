"""The announcements a partner user has not yet acknowledged, for the banner every page shows them."""

from __future__ import annotations

from functools import cache

from django.http import HttpRequest

from .models import Announcement


def announcement_banners(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.vendor_id:
        return {}
    # Lazy and cached: the query runs only when the page renders the banner, and once.
    return {"announcement_banners": cache(lambda: list(Announcement.objects.for_partner(user).unacknowledged_by(user)))}
