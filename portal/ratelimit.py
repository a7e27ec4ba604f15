"""Fixed-window rate limits counted in the database, so that every web process shares one count."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import RateLimitWindow

# Windows older than this are deleted as new ones are counted; no limit here uses a longer window.
KEEP_WINDOWS_FOR = timedelta(days=1)


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


@transaction.atomic
def rate_limit_hit(key: str, *, limit: int, window: timedelta) -> bool:
    """Count one use of `key` in the current window; False once it has been used more than `limit` times in it."""
    now = timezone.now()
    start = _window_start(now, window)
    row, _ = RateLimitWindow.objects.get_or_create(key=key[:200], window_start=start)
    RateLimitWindow.objects.filter(pk=row.pk).update(count=F("count") + 1)
    row.refresh_from_db(fields=["count"])
    RateLimitWindow.objects.filter(window_start__lt=now - KEEP_WINDOWS_FOR).delete()
    return row.count <= limit
