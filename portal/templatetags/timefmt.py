"""Template filters over `portal.timefmt`: every time a page shows goes through one of these.

{{ value|when }}          <time datetime="2026-12-03T14:05:00+05:30">3 Dec 2026, 14:05 IST</time>
{{ value|when:"short" }}  … 3 Dec, 14:05 IST …
{{ value|ago }}           <time datetime="…" title="3 Dec 2026, 14:05 IST">2 h ago</time>
{{ value|when_text }}     3 Dec 2026, 14:05 IST (plain text, e.g. inside an attribute)
{{ value|when_text:"Europe/Berlin" }}   3 Dec 2026, 09:35 CET (in a named zone)
{{ value|iso }}           2026-12-03T14:05:00+05:30
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.safestring import SafeString

from portal import timefmt

register = template.Library()


@register.filter
def when(value: datetime | None, style: timefmt.Style = "long") -> SafeString:
    return timefmt.time_html(value, style)


@register.filter
def ago(value: datetime | None) -> SafeString:
    return timefmt.time_html(value, relative=True)


@register.filter
def when_text(value: datetime | None, style_or_zone: str = "long") -> str:
    """A style ("long", "short", "date", "time") or a zone name (the long style in that zone)."""
    if style_or_zone in timefmt.FORMATS:
        return timefmt.format_time(value, style_or_zone)  # type: ignore[arg-type]
    return timefmt.format_time(value, "long", tz=style_or_zone)


@register.filter
def iso(value: datetime | None) -> str:
    return timefmt.format_iso(value)
