"""The one way Portico writes CSV: every text cell is defused against spreadsheet formula injection.

A spreadsheet opening a CSV runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, with a tab or a
carriage return) as a formula, so a vendor name or a comment such as `=HYPERLINK(...)` typed by a user would run
on the program manager's machine (OWASP "CSV injection"). As OWASP recommends, such a cell gets a leading single
quote, which spreadsheets show as text and do not display.

Only `str` cells are inspected: numbers (int, float, Decimal) are figures Portico computed, written as numbers so
that a negative change stays a number. Callers therefore pass figures as numbers, never pre-formatted as text;
anything a user typed is text and is defused. `portal/tests/test_csv_export.py` holds every CSV writer in the
project to this module.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

# OWASP's list, plus a line feed and the full-width forms some spreadsheets also read as a formula's start.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: Any) -> Any:
    """`value` as it may go into a CSV cell: text starting with a formula trigger gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return f"'{value}"
    return value


class SafeCsvWriter:
    """`csv.writer` with every cell passed through `csv_cell`."""

    def __init__(self, out: Any, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out: Any, **options: Any) -> SafeCsvWriter:
    """A CSV writer on `out` (any `csv.writer` options) that defuses formula triggers in every text cell."""
    return SafeCsvWriter(out, **options)
