"""The weekly CSV: wide (one row per thing measured, a column per figure) by default, the long v1 table on request,
a header a spreadsheet opens cleanly, durations in hours and instants in ISO 8601 with their offset."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
import time_machine
from django.urls import reverse

from reports.exports import BOM, CSV_HEADER_V1, csv_header
from reports.selectors import AGE_LABELS, DIMENSIONS, FIGURES, report_weekly

from .conftest import NOW

pytestmark = pytest.mark.django_db
WEEK = "2026-W47"


@pytest.fixture
def pm_client(client, dataset):
    client.force_login(dataset.world.pm)
    with time_machine.travel(NOW, tick=False):
        yield client


def _download(client, name: str = "reports-weekly-csv", **params) -> bytes:
    response = client.get(reverse(name), {"week": WEEK, **params})
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return response.content


def _rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_wide_csv_has_a_bom_one_header_and_every_row_as_wide_as_it(pm_client):
    content = _download(pm_client)

    # The UTF-8 byte-order mark, then the header: Excel then reads "1–3 days" as written.
    assert content.startswith(BOM.encode())
    header, *rows = _rows(content)
    assert header == csv_header()
    assert header[:6] == ["section", "dimension", "key", "label", "period_start", "period_end"]
    assert len(set(header)) == len(header)
    assert "pick_up_wall_p50_hours" in header and "pick_up_wall_p50" not in header
    assert all(len(row) == len(header) for row in rows)
    assert "1–3 days" not in content.decode("utf-8-sig")  # keys, not labels, name the age columns
    assert f"backlog_age_{next(iter(AGE_LABELS))}" in header


def test_one_row_per_breakdown_entity_and_per_trend_week(pm_client, dataset):
    report = report_weekly(user=dataset.world.pm, week=WEEK, now=NOW)
    rows = list(csv.DictReader(io.StringIO(_download(pm_client).decode("utf-8-sig"))))

    assert [r["section"] for r in rows[:3]] == ["summary", "previous_week", "change"]
    for dimension in DIMENSIONS:
        keys = [r["key"] for r in rows if r["section"] == "breakdown" and r["dimension"] == dimension]
        assert keys == [s.key for s in report.breakdowns[dimension]]
    trend = {r["key"]: r for r in rows if r["section"] == "trend"}
    assert list(trend) == [w.week for w in report.traction]
    assert trend[WEEK]["created"] == str(report.traction[-1].created)
    assert trend["2026-W40"]["sla_response_compliance"] == ""  # no clock that week: empty, not 0
    assert trend["2026-W40"]["period_start"] == "2026-09-28T00:00:00+05:30"


def test_durations_are_hours_with_one_decimal_and_instants_carry_their_offset(pm_client, dataset):
    rows = list(csv.DictReader(io.StringIO(_download(pm_client).decode("utf-8-sig"))))
    breaches = list(
        csv.DictReader(io.StringIO(_download(pm_client, "reports-weekly-breaches-csv").decode("utf-8-sig")))
    )

    duration_cells = [row[c] for row in rows for c in row if c.endswith("_hours") and row[c]]
    assert duration_cells and all(re.fullmatch(r"-?\d+\.\d", cell) for cell in duration_cells), duration_cells
    assert rows[0]["period_start"] == "2026-11-16T00:00:00+05:30"
    assert rows[0]["period_end"] == "2026-11-23T00:00:00+05:30"
    instants = [rows[0]["period_start"]] + [b["due_at"] for b in breaches] + [b["settled_at"] for b in breaches]
    for instant in filter(None, instants):
        assert instant.endswith("+05:30") and datetime.fromisoformat(instant).utcoffset() is not None
    assert all(re.fullmatch(r"\d+\.\d", b["late_hours"]) for b in breaches)
    assert list(breaches[0]) == [
        "reference",
        "title",
        "vendor",
        "priority",
        "measure",
        "due_at",
        "settled_at",
        "late_hours",
        "reason",
        "extended",
    ]


def test_the_long_v1_table_is_still_served_on_request(pm_client, dataset):
    report = report_weekly(user=dataset.world.pm, week=WEEK, now=NOW)
    response = pm_client.get(reverse("reports-weekly-csv"), {"week": WEEK, "format": "v1"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="portico-sla-{WEEK}-v1.csv"'
    assert not response.content.startswith(BOM.encode())  # byte for byte what earlier releases wrote
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert tuple(rows[0]) == CSV_HEADER_V1
    summary = {r["metric"]: r["value"] for r in rows if r["section"] == "summary"}
    assert set(summary) == set(FIGURES)
    assert float(summary["pick_up_wall_p50"]) == report.summary.pick_up_wall_p50  # seconds, as before


@pytest.mark.parametrize("version", ["v3", "long", "V2"])
def test_an_unknown_format_is_a_400_naming_the_choices(pm_client, version):
    response = pm_client.get(reverse("reports-weekly-csv"), {"week": WEEK, "format": version})

    assert response.status_code == 400
    assert "v2 or v1" in response.content.decode()
