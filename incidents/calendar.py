"""A rota's iCalendar feed (RFC 5545), so calendar apps can subscribe to the shifts and overrides."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar

from .models import OnCallRota
from .selectors import rota_calendar_entries

FEED_WEEKS = 8


def rota_calendar(rota: OnCallRota, *, now: datetime, weeks: int = FEED_WEEKS) -> bytes:
    """The next `weeks` of shifts and overrides as an iCalendar document."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Portico//On call//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", str(rota))
    for entry in rota_calendar_entries(rota, now=now, weeks=weeks):
        event = icalendar.Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", now.astimezone(UTC))
        # UTC on the wire: no VTIMEZONE to ship, and every client shows it in its own zone.
        event.add("dtstart", entry.starts_at.astimezone(UTC))
        event.add("dtend", entry.ends_at.astimezone(UTC))
        event.add("summary", entry.summary)
        event.add("description", entry.description)
        calendar.add_component(event)
    return calendar.to_ical()
