"""Replaying a clock ledger: from start/pause/resume/stop events to due, at-risk and met times. Pure, no ORM."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .clock import add_working_time, working_time_between

START, PAUSE, RESUME, STOP, REOPEN, RETARGET, VENDOR_CHANGE, CANCEL, EXTEND = (
    "start",
    "pause",
    "resume",
    "stop",
    "reopen",
    "retarget",
    "vendor_change",
    "cancel",
    "extend",
)


@dataclass(frozen=True)
class Entry:
    """One ledger row as the replay sees it; `measure` None applies to both measures."""

    kind: str
    at: datetime
    measure: str | None = None
    target: Any = None  # the policy a start, vendor change or retarget names (opaque here)
    reason: str = ""  # a pause's reason
    extension: timedelta | None = None  # an extension's shift of the due time


@dataclass(frozen=True)
class Figures:
    """Everything stored about one clock after replaying its ledger."""

    started_at: datetime | None
    running_since: datetime | None
    elapsed: timedelta
    paused_since: datetime | None
    paused: timedelta
    pauses: tuple[tuple[datetime, datetime | None], ...]
    due_at: datetime | None
    at_risk_at: datetime | None
    met_at: datetime | None
    ended_at: datetime | None
    breached: bool
    segments: tuple[tuple[datetime, datetime | None], ...] = field(default=())
    pause_reasons: tuple[str, ...] = field(default=())  # one per pause, in the order of `pauses`
    reopen_gaps: tuple[tuple[datetime, datetime], ...] = field(default=())  # met, then reopened: not counted
    extended: timedelta = timedelta(0)  # the extensions' total shift of the due (and at-risk) time


def _crossing(calendar: Any, segments: list[tuple[datetime, datetime | None]], target: timedelta) -> datetime | None:
    """The instant the running segments accumulate `target` of working time (None if they stop short)."""
    before = timedelta(0)
    for start, end in segments:
        length = working_time_between(calendar, start, end) if end is not None else None
        if length is None or before + length >= target:
            return add_working_time(calendar, start, target - before)
        before += length
    return None


def governing_target(
    entries: Iterable[Entry], *, measure: str, family: Callable[[Any], Any] = lambda target: target
) -> Any:
    """The target (policy) one clock runs under for `measure`: the one its start, vendor change or latest retarget
    named. A retarget to another family (another priority: a priority change) does not touch a clock already met
    or ended — it keeps the outcome it ended with — and waits, governing only if a reopen makes the clock run
    again. A retarget within the clock's family (its priority's revised policy, re-applied) re-evaluates it even
    when finished. None when no entry names a target.

    Mirrors `replay`'s rules for when a clock is started, met, ended and reopened."""
    target = pending = None
    started = met = ended = False
    for entry in sorted(entries, key=lambda e: e.at):
        if entry.measure not in (None, "", measure):
            continue
        if entry.kind in (START, VENDOR_CHANGE):
            if entry.kind == VENDOR_CHANGE or not started:
                started, met, ended, pending = True, False, False, None
                target = entry.target if entry.target is not None else target
        elif entry.kind == RETARGET and entry.target is not None:
            if (met or ended) and target is not None and family(entry.target) != family(target):
                pending = entry.target
            else:
                target, pending = entry.target, None
        elif entry.kind == STOP and started and not met and not ended:
            met = True
        elif entry.kind == REOPEN and met and not ended:
            met = False
            if pending is not None:
                target, pending = pending, None
        elif entry.kind == CANCEL and started and not met and not ended:
            ended = True
    return target


def replay(
    entries: Iterable[Entry], *, measure: str, calendar: Any, goal: timedelta | None, at_risk_ratio: float
) -> Figures:
    """Replay the ledger of one clock for one measure under `goal` on `calendar`.

    A pause closes the running segment and a resume opens a new one, so due times move by exactly the paused
    working time; a retarget changes nothing here because the goal passed in is already the new one, and the
    segments (with their pauses) are kept — the trap of losing paused time on a priority change cannot happen.
    """
    segments: list[tuple[datetime, datetime | None]] = []
    pauses: list[tuple[datetime, datetime | None]] = []
    reasons: list[str] = []
    gaps: list[tuple[datetime, datetime]] = []
    extended = timedelta(0)
    started_at = met_at = ended_at = None
    running = paused = False
    for entry in sorted(entries, key=lambda e: e.at):
        if entry.measure not in (None, "", measure):
            continue
        at = entry.at
        if entry.kind in (START, VENDOR_CHANGE):
            if entry.kind == VENDOR_CHANGE or started_at is None:
                # A new vendor's OLA starts from nothing; the SLA start is idempotent.
                segments, pauses, met_at, ended_at, paused = [(at, None)], [], None, None, False
                reasons, gaps, extended = [], [], timedelta(0)
                started_at, running = at, True
        elif entry.kind == PAUSE and running:
            segments[-1] = (segments[-1][0], at)
            pauses.append((at, None))
            reasons.append(entry.reason)
            running, paused = False, True
        elif entry.kind == RESUME and paused:
            pauses[-1] = (pauses[-1][0], at)
            segments.append((at, None))
            running, paused = True, False
        elif entry.kind == STOP and (running or paused) and met_at is None:
            if running:
                segments[-1] = (segments[-1][0], at)
            if paused:  # stopped straight from a pause: the hold time is not counted
                pauses[-1] = (pauses[-1][0], at)
            met_at, running, paused = at, False, False
        elif entry.kind == REOPEN and met_at is not None and ended_at is None:
            segments.append((at, None))
            gaps.append((met_at, at))
            met_at, running = None, True
        elif entry.kind == EXTEND and (running or paused) and entry.extension:
            # The program manager's extension shifts the due time by its amount, on top of the target: working
            # time is counted exactly as before, and a later pause or retarget moves the shifted time as usual.
            extended += entry.extension
        elif entry.kind == CANCEL and started_at is not None and met_at is None and ended_at is None:
            if running:
                segments[-1] = (segments[-1][0], at)
            if paused:
                pauses[-1] = (pauses[-1][0], at)
            ended_at, running, paused = at, False, False

    closed = [(s, e) for s, e in segments if e is not None]
    elapsed = sum((working_time_between(calendar, s, e) for s, e in closed), timedelta(0))
    paused_total = sum((working_time_between(calendar, s, e) for s, e in pauses if e is not None), timedelta(0))
    running_since = segments[-1][0] if running else None
    due_at = at_risk_at = None
    if goal is not None and started_at is not None:
        # When not running, project from where it stopped as if work went on at once: a paused clock's due time
        # then shifts by exactly the pause when it resumes, and a met clock shows when it would have been due.
        projection: list[tuple[datetime, datetime | None]] = segments
        if not running:
            tail = pauses[-1][0] if paused else (met_at or ended_at)
            if tail is None:  # cannot happen: a started clock that is not running was paused, met or cancelled
                raise AssertionError("a started clock that is not running has no pause, stop or cancel")
            projection = [*closed, (tail, None)]
        due_at = _shifted(_crossing(calendar, projection, goal), extended)
        at_risk_at = _shifted(_crossing(calendar, projection, goal * at_risk_ratio), extended)
    finished_at = met_at or ended_at
    breached = bool(due_at and finished_at and finished_at > due_at)
    return Figures(
        started_at=started_at,
        running_since=running_since,
        elapsed=elapsed,
        paused_since=pauses[-1][0] if paused else None,
        paused=paused_total,
        pauses=tuple(pauses),
        due_at=due_at,
        at_risk_at=at_risk_at,
        met_at=met_at,
        ended_at=ended_at,
        breached=breached,
        segments=tuple(segments),
        pause_reasons=tuple(reasons),
        reopen_gaps=tuple(gaps),
        extended=extended,
    )


def _shifted(instant: datetime | None, by: timedelta) -> datetime | None:
    return instant + by if instant is not None else None


def paused_by_reason(figures: Figures, calendar: Any, now: datetime, *, gap_reason: str) -> list[tuple[str, timedelta]]:
    """Working time the clock stood still, per reason, largest first: each pause under its reason (one still open
    counts up to `now`), and the time between a resolve and its reopen under `gap_reason`."""
    totals: dict[str, timedelta] = {}
    spans = [
        (reason, start, end or now) for reason, (start, end) in zip(figures.pause_reasons, figures.pauses, strict=False)
    ]
    spans += [(gap_reason, start, end) for start, end in figures.reopen_gaps]
    for reason, start, end in spans:
        totals[reason] = totals.get(reason, timedelta(0)) + working_time_between(calendar, start, max(start, end))
    return sorted(((r, t) for r, t in totals.items() if t > timedelta(0)), key=lambda item: -item[1])


def elapsed_at(figures: Figures, calendar: Any, now: datetime) -> timedelta:
    """Working time on the clock at `now`, counting the open segment up to now."""
    if figures.running_since is None:
        return figures.elapsed
    return figures.elapsed + working_time_between(calendar, figures.running_since, max(now, figures.running_since))
