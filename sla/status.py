"""Where a request's SLA clocks stand at a given instant: pure arithmetic over stored due and met times."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sla.choices import ClockStatus

AT_RISK_FRACTION = 0.75
# What the API reports per clock (a subset of the engine's ClockStatus).
SLA_STATUSES = [
    (status.value, status.label)
    for status in (ClockStatus.ON_TRACK, ClockStatus.AT_RISK, ClockStatus.BREACHED, ClockStatus.MET)
]


@dataclass(frozen=True)
class ClockReading:
    """One clock's due time, when it was met, its status and the seconds left (negative once overdue)."""

    due_at: datetime | None
    met_at: datetime | None
    status: str | None
    remaining_seconds: int | None


def sla_clock_read(
    *,
    started_at: datetime,
    due_at: datetime | None,
    met_at: datetime | None,
    now: datetime,
    stopped_at: datetime | None = None,
    at_risk_fraction: float = AT_RISK_FRACTION,
) -> ClockReading:
    """Read one clock at `now`; `stopped_at` freezes an unmet clock when the request ended without meeting it."""
    if due_at is None:
        return ClockReading(due_at=None, met_at=met_at, status=None, remaining_seconds=None)
    # A met clock is judged at the moment it was met; an abandoned one at the moment the request ended.
    end = met_at or (min(stopped_at, now) if stopped_at else now)
    remaining = math.floor((due_at - end).total_seconds())
    if met_at is not None:
        status = ClockStatus.MET if met_at <= due_at else ClockStatus.BREACHED
    elif end >= due_at:
        status = ClockStatus.BREACHED
    else:
        goal = (due_at - started_at).total_seconds()
        elapsed = (end - started_at).total_seconds()
        status = ClockStatus.AT_RISK if goal <= 0 or elapsed >= at_risk_fraction * goal else ClockStatus.ON_TRACK
    return ClockReading(due_at=due_at, met_at=met_at, status=str(status), remaining_seconds=remaining)


def sla_read(
    *,
    created_at: datetime,
    response_due_at: datetime | None,
    responded_at: datetime | None,
    resolution_due_at: datetime | None,
    resolved_at: datetime | None,
    closed_at: datetime | None,
    now: datetime,
) -> dict[str, ClockReading]:
    """Both clocks of a request: response (until pick-up) and resolution (until resolved)."""
    return {
        "response": sla_clock_read(
            started_at=created_at, due_at=response_due_at, met_at=responded_at, now=now, stopped_at=closed_at
        ),
        "resolution": sla_clock_read(
            started_at=created_at, due_at=resolution_due_at, met_at=resolved_at, now=now, stopped_at=closed_at
        ),
    }
