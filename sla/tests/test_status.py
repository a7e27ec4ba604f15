"""The API's SLA reading: status and time left of one clock, as pure arithmetic."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest

from sla.status import sla_clock_read, sla_read

START = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
DUE = START + timedelta(hours=10)


@pytest.mark.parametrize(
    ("elapsed", "status", "remaining"),
    [
        (timedelta(0), "on_track", 36_000),
        (timedelta(hours=7, minutes=29, seconds=59), "on_track", 9_001),
        (timedelta(hours=7, minutes=30), "at_risk", 9_000),  # exactly 75 %
        (timedelta(hours=9, minutes=59, seconds=59), "at_risk", 1),
        (timedelta(hours=10), "breached", 0),
        (timedelta(hours=12), "breached", -7_200),
    ],
)
def test_open_clock(elapsed, status, remaining):
    reading = sla_clock_read(started_at=START, due_at=DUE, met_at=None, now=START + elapsed)
    assert (reading.status, reading.remaining_seconds, reading.due_at, reading.met_at) == (
        status,
        remaining,
        DUE,
        None,
    )


def test_met_in_time_keeps_the_margin_it_was_met_with():
    met = START + timedelta(hours=9)
    reading = sla_clock_read(started_at=START, due_at=DUE, met_at=met, now=START + timedelta(days=30))
    assert (reading.status, reading.remaining_seconds, reading.met_at) == ("met", 3_600, met)


def test_met_late_is_breached():
    met = DUE + timedelta(minutes=1)
    reading = sla_clock_read(started_at=START, due_at=DUE, met_at=met, now=met + timedelta(days=1))
    assert (reading.status, reading.remaining_seconds) == ("breached", -60)


def test_a_request_that_ended_unmet_freezes_its_clock():
    closed = START + timedelta(hours=2)
    reading = sla_clock_read(
        started_at=START, due_at=DUE, met_at=None, now=START + timedelta(days=3), stopped_at=closed
    )
    assert (reading.status, reading.remaining_seconds) == ("on_track", 8 * 3600)


def test_no_due_time_means_no_status():
    reading = sla_clock_read(started_at=START, due_at=None, met_at=None, now=START)
    assert (reading.status, reading.remaining_seconds) == (None, None)


def test_a_goal_of_zero_is_at_risk_until_due():
    reading = sla_clock_read(started_at=START, due_at=START + timedelta(seconds=1), met_at=None, now=START)
    assert reading.status == "on_track"
    reading = sla_clock_read(started_at=START, due_at=START, met_at=None, now=START - timedelta(seconds=1))
    assert reading.status == "at_risk"


def test_instants_in_different_timezones_compare_as_instants():
    kolkata = DUE.astimezone(zoneinfo.ZoneInfo("Asia/Kolkata"))
    reading = sla_clock_read(started_at=START, due_at=kolkata, met_at=None, now=START + timedelta(hours=5))
    assert (reading.status, reading.remaining_seconds) == ("on_track", 5 * 3600)


def test_both_clocks():
    readings = sla_read(
        created_at=START,
        response_due_at=START + timedelta(hours=4),
        responded_at=START + timedelta(hours=1),
        resolution_due_at=START + timedelta(hours=24),
        resolved_at=None,
        closed_at=None,
        now=START + timedelta(hours=20),
    )
    assert (readings["response"].status, readings["resolution"].status) == ("met", "at_risk")
    assert readings["resolution"].remaining_seconds == 4 * 3600
