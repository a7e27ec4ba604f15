"""Who is on call at an instant: pure time math over a rota and its overrides (no ORM, no clock).

Shifts hand over at a wall-clock time in the rota's own zone, so a 09:00 Asia/Kolkata handover stays at 09:00 there
whatever zone the viewer is in, and a rota in a zone with daylight saving keeps its local handover across the change.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Generic, Literal, TypeVar

Member = TypeVar("Member")
Slot = Literal["primary", "secondary"]


@dataclass(frozen=True)
class RotaSpec(Generic[Member]):
    """The ordered members; the first shift starts on `starts_on` at `handover` in `zone`, each lasts `shift_days`."""

    members: tuple[Member, ...]
    starts_on: date
    handover: time
    zone: str
    shift_days: int


@dataclass(frozen=True)
class Cover(Generic[Member]):
    """`member` takes `slot` over from `starts_at` (included) to `ends_at` (excluded)."""

    member: Member
    slot: Slot
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Shift(Generic[Member]):
    """One scheduled shift: its number from the first, its bounds, and who the rota puts on it."""

    index: int
    starts_at: datetime
    ends_at: datetime
    primary: Member
    secondary: Member | None


@dataclass(frozen=True)
class OnCall(Generic[Member]):
    """Who answers at one instant, after overrides; `shift` is the scheduled shift they fall in."""

    primary: Member
    secondary: Member | None
    shift: Shift[Member]
    primary_cover: Cover[Member] | None = None
    secondary_cover: Cover[Member] | None = None


def shift_start(spec: RotaSpec[Member], index: int) -> datetime:
    """The instant shift `index` begins: its local handover in the rota's zone, as UTC."""
    day = spec.starts_on + timedelta(days=index * spec.shift_days)
    # In UTC, because Python subtracts two times in one zone by wall clock: a 23-hour shift would read as 24.
    return datetime.combine(day, spec.handover, tzinfo=zoneinfo.ZoneInfo(spec.zone)).astimezone(UTC)


def shift(spec: RotaSpec[Member], index: int) -> Shift[Member]:
    count = len(spec.members)
    return Shift(
        index=index,
        starts_at=shift_start(spec, index),
        ends_at=shift_start(spec, index + 1),
        primary=spec.members[index % count],
        secondary=spec.members[(index + 1) % count] if count > 1 else None,
    )


def shift_at(spec: RotaSpec[Member], when: datetime) -> Shift[Member] | None:
    """The scheduled shift `when` falls in; None before the first handover or when the rota has nobody."""
    if not spec.members or spec.shift_days < 1 or when < shift_start(spec, 0):
        return None
    local_day = when.astimezone(zoneinfo.ZoneInfo(spec.zone)).date()
    index = max(0, (local_day - spec.starts_on).days // spec.shift_days)
    # The day count lands on the right shift or the one after it (before that day's handover): step back if so.
    while index > 0 and when < shift_start(spec, index):
        index -= 1
    while when >= shift_start(spec, index + 1):
        index += 1
    return shift(spec, index)


def on_call(spec: RotaSpec[Member], covers: Sequence[Cover[Member]], when: datetime) -> OnCall[Member] | None:
    """Primary and secondary at `when`. Of overlapping covers for one slot, the last in `covers` wins.

    When someone covering the primary slot is the scheduled secondary, the scheduled primary becomes secondary, so
    one person never holds both slots unless both are overridden to them.
    """
    scheduled = shift_at(spec, when)
    if scheduled is None:
        return None
    active = {cover.slot: cover for cover in covers if cover.starts_at <= when < cover.ends_at}
    primary_cover, secondary_cover = active.get("primary"), active.get("secondary")
    primary = primary_cover.member if primary_cover else scheduled.primary
    secondary = secondary_cover.member if secondary_cover else scheduled.secondary
    if primary_cover and not secondary_cover and primary == scheduled.secondary:
        secondary = scheduled.primary
    return OnCall(primary, secondary, scheduled, primary_cover, secondary_cover)


def shifts_between(spec: RotaSpec[Member], start: datetime, end: datetime) -> list[Shift[Member]]:
    """Every scheduled shift that overlaps [start, end), in order."""
    first = shift_at(spec, start)
    if first is None:
        if not spec.members or spec.shift_days < 1 or shift_start(spec, 0) >= end:
            return []
        first = shift(spec, 0)
    shifts = [first]
    while shifts[-1].ends_at < end:
        shifts.append(shift(spec, shifts[-1].index + 1))
    return shifts
