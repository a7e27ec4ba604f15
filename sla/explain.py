"""Plain-words pieces for explaining a clock: durations and the days that were not counted. Pure, no ORM."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from .clock import DayOff


def format_duration(value: timedelta) -> str:
    """`3 h 10 min`, `45 s`, `0 min`; working time reads best in hours, so days are not used."""
    sign = "-" if value < timedelta(0) else ""
    seconds = int(abs(value).total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    if secs and not hours:
        parts.append(f"{secs} s")  # seconds only matter for short spans
    text = " ".join(p for p in parts if p)
    return sign + (text or "0 min")


def _day_range(first: date, last: date) -> str:
    if first == last:
        return f"{first.day} {first:%b}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%b}"
    return f"{first.day} {first:%b}–{last.day} {last:%b}"


def describe_days_off(days: Iterable[DayOff], *, region: str = "") -> str:
    """`weekend 24–25 Jan; Bihar holiday Republic Day on 26 Jan` (consecutive days with one reason grouped)."""
    groups: list[tuple[DayOff, date]] = []
    for off in sorted(days):
        if groups:
            first, last = groups[-1]
            if (first.kind, first.reason) == (off.kind, off.reason) and off.day - last == timedelta(days=1):
                groups[-1] = (first, off.day)
                continue
        groups.append((off, off.day))
    phrases = []
    for first, last in groups:
        when = _day_range(first.day, last)
        if first.kind == "weekend":
            phrases.append(f"weekend {when}")
        elif first.kind == "holiday":
            label = f"{region} holiday" if region else "holiday"
            phrases.append(f"{label} {first.reason} on {when}")
        else:
            phrases.append(f"closure ({first.reason}) on {when}")
    return "; ".join(phrases)
