"""The one way Portico writes a time for people: pages, e-mails, the PDF; and for machines: CSV (ISO 8601).

Every time shown carries its zone ("3 Dec 2026, 14:05 IST"), in the viewer's zone: their preference
(`User.timezone`), else the portal's `TIME_ZONE` (Asia/Kolkata, the zone of the demo's environments). Middleware
(`UserTimezoneMiddleware`) makes the viewer's zone Django's current one for each request, so callers that pass no
zone get it. Relative times ("in 3 h", "2 d ago") always come with the absolute time (`time_html` puts it in the
hover title of a `<time>` element)."""

from __future__ import annotations

import html
import zoneinfo
from datetime import date, datetime, tzinfo
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

Style = Literal["long", "short", "date", "time"]
# `{day}` is the day without a leading zero (strftime's %-d is not portable).
FORMATS: dict[str, str] = {
    "long": "{day} %b %Y, %H:%M",  # 3 Dec 2026, 14:05
    "short": "{day} %b, %H:%M",  # 3 Dec, 14:05 (lists, timelines)
    "time": "%H:%M:%S",  # 14:05:09 (step timings within one run)
    "date": "{day} %b %Y",  # 3 Dec 2026 (dates carry no zone)
}


def _strftime(value: date, style: str) -> str:
    return value.strftime(FORMATS[style].replace("{day}", str(value.day)))


UNITS = ((86_400, "d"), (3_600, "h"), (60, "min"))


def validate_timezone_name(value: str) -> None:
    """An IANA zone name (Asia/Kolkata, Europe/Berlin, UTC)."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"“{value}” is not an IANA time zone (e.g. Asia/Kolkata).") from exc


def timezone_choices() -> list[tuple[str, str]]:
    """Every IANA zone this machine knows, for a drop-down."""
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def user_timezone_set(user: Any, *, name: str) -> Any:
    """Save `user`'s zone preference (an IANA name, or "" for the portal's default)."""
    name = name.strip()
    if name:
        validate_timezone_name(name)
    user.timezone = name
    user.save(update_fields=["timezone"])
    return user


def user_timezone(user: Any) -> zoneinfo.ZoneInfo:
    """`user`'s zone: their preference, else the portal's default zone."""
    name = getattr(user, "timezone", "") or settings.TIME_ZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def zone_label(value: datetime) -> str:
    """The zone's abbreviation at that instant (IST, CET, CEST, UTC), or its offset where it has none (UTC+04)."""
    name = value.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = value.strftime("%z")  # +0400, +0530
    return f"UTC{offset[:3]}" + (f":{offset[3:]}" if offset[3:] != "00" else "")


def localize(value: datetime, tz: tzinfo | str | None = None) -> datetime:
    """`value` in `tz` (a zone or its name), else in the current zone (the viewer's, in a request)."""
    if isinstance(tz, str):
        tz = zoneinfo.ZoneInfo(tz)
    return timezone.localtime(value, tz or timezone.get_current_timezone())


def format_time(value: datetime | date | None, style: Style = "long", tz: tzinfo | str | None = None) -> str:
    """ "3 Dec 2026, 14:05 IST": the time in `tz` (default: the current zone) with its zone; "" for None."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return _strftime(value, "date")
    local = localize(value, tz)
    if style == "date":
        return _strftime(local, "date")
    return f"{_strftime(local, style)} {zone_label(local)}"


def format_relative(value: datetime, now: datetime | None = None) -> str:
    """ "in 3 h", "2 d ago", "in 5 min", "just now": the largest whole unit between `now` and `value`."""
    seconds = round((value - (now or timezone.now())).total_seconds())
    size = abs(seconds)
    for unit_seconds, unit in UNITS:
        if size >= unit_seconds:
            amount = f"{size // unit_seconds} {unit}"
            return f"in {amount}" if seconds > 0 else f"{amount} ago"
    return "just now"


def format_iso(value: datetime | None, tz: tzinfo | str | None = None) -> str:
    """ISO 8601 with its UTC offset, to the second (CSV, `datetime=` attributes): 2026-12-03T14:05:00+05:30."""
    if value is None:
        return ""
    return localize(value, tz).isoformat(timespec="seconds")


def time_html(
    value: datetime | None, style: Style = "long", *, relative: bool = False, tz: tzinfo | None = None
) -> SafeString:
    """A `<time>` element: the absolute time with its zone, or a relative one with the absolute time on hover; in
    `tz`, else the current zone (a list passes the current zone, read once for its rows: each read is a
    context-local lookup).

    Written as `format_html` over `format_iso`, `format_time` and `format_relative` would write it, with the time
    made local once (a list page writes one or two per row: the two conversions and `format_html`'s lazy-string
    checks were most of its cost; `portal/tests/test_timefmt.py` compares the two)."""
    if value is None:
        return SafeString("")
    local = localize(value, tz)
    absolute = _strftime(local, "date") if style == "date" else f"{_strftime(local, style)} {zone_label(local)}"
    iso = html.escape(local.isoformat(timespec="seconds"))
    if relative:
        text = html.escape(format_relative(value))
        return mark_safe(f'<time datetime="{iso}" title="{html.escape(absolute)}">{text}</time>')  # escaped here
    return mark_safe(f'<time datetime="{iso}">{html.escape(absolute)}</time>')  # escaped here
