"""SLA targets per priority. For now a wall-clock policy taken from the organisation's priority table;
the SLA engine (business calendars, pauses) replaces it."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from requests_app.choices import Priority


@dataclass(frozen=True)
class Targets:
    """How long pick-up and resolution may take; `resolution=None` means due at `needed_by`."""

    response: timedelta
    resolution: timedelta | None


WALL_CLOCK_TARGETS: dict[str, Targets] = {
    Priority.P0: Targets(response=timedelta(hours=4), resolution=timedelta(hours=24)),
    Priority.P1: Targets(response=timedelta(hours=2), resolution=timedelta(hours=12)),
    Priority.P2: Targets(response=timedelta(days=1), resolution=timedelta(days=3)),
    Priority.P3: Targets(response=timedelta(days=2), resolution=timedelta(weeks=2)),
    Priority.P4: Targets(response=timedelta(days=5), resolution=None),
}


def due_times(
    *, priority: str, start: datetime, needed_by: date | None, timezone_name: str
) -> tuple[datetime, datetime | None]:
    """Response and resolution due times for a request filed at `start`."""
    targets = WALL_CLOCK_TARGETS[priority]
    response_due = start + targets.response
    if targets.resolution is not None:
        return response_due, start + targets.resolution
    if needed_by is None:
        return response_due, None
    # Needed by a day means ready when that day starts where the environment is.
    return response_due, datetime.combine(needed_by, time.min, tzinfo=zoneinfo.ZoneInfo(timezone_name))
