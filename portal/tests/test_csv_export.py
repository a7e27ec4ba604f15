"""CSV cells a spreadsheet would run as a formula are defused, numbers stay numbers, and every CSV goes through it."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

from portal.csv_export import csv_cell, csv_writer

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", "var", "node_modules", "staticfiles", "migrations", "tests", "testing"}


@pytest.mark.parametrize(
    "text",
    ["=1+2", "+1+2", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "\n=1", '=HYPERLINK("http://x","y")', "\uff1d1+2"],
)
def test_text_starting_with_a_formula_trigger_gets_a_leading_quote(text):
    assert csv_cell(text) == f"'{text}"


@pytest.mark.parametrize("value", ["OptIT", "2026-W47", "a=b", " =not first", "", "'quoted already", "—"])
def test_other_text_is_left_alone(value):
    assert csv_cell(value) == value


@pytest.mark.parametrize("value", [-3, -0.25, 0, 12.5, Decimal("-1.5"), None, True])
def test_numbers_and_other_non_text_cells_are_written_as_they_are(value):
    assert csv_cell(value) is value


def test_the_writer_defuses_every_cell_of_every_row_and_keeps_negative_numbers():
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(["label", "value"])
    writer.writerows([["=cmd|' /C calc'!A0", -4], ["-2", -0.5]])

    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["label", "value"],
        ["'=cmd|' /C calc'!A0", "-4"],
        ["'-2", "-0.5"],
    ]


def test_every_csv_writer_in_the_project_is_the_safe_one():
    """`csv.writer` and `csv.DictWriter` appear only in portal/csv_export.py; everything else uses `csv_writer`."""
    direct = re.compile(r"\bcsv\.(?:writer|DictWriter)\b|from csv import[^\n]*\b(?:writer|DictWriter)\b")
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if set(relative.parts[:-1]) & SKIP_DIRS or relative.as_posix() == "portal/csv_export.py":
            continue
        offenders += [
            f"{relative}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1) if direct.search(line)
        ]
    assert offenders == []


def test_the_scan_finds_what_it_is_for():
    assert "csv.writer(" in (ROOT / "portal" / "csv_export.py").read_text()
