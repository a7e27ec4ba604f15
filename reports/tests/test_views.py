"""The four outputs (page, API, CSV, PDF) show the selector's figures and agree with each other; access rules."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict
from html import unescape

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from reports.exports import hours, pdf_text
from reports.formatting import HEADLINES, change_text, figure_text
from reports.selectors import FIGURES, report_weekly
from reports.selectors.queries import _durations, _percentile_queryset, _percentiles, _percentiles_python, _scope

from .conftest import NOW

pytestmark = pytest.mark.django_db
WEEK = "2026-W47"


@pytest.fixture
def frozen():
    """The views read the clock; freeze it at the data set's NOW."""
    with time_machine.travel(NOW, tick=False):
        yield


def _get(client, user, name: str, **params):
    client.force_login(user)
    return client.get(reverse(name), params)


def _csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def _column(name: str) -> str:
    """The wide CSV's column of a figure: durations are in hours."""
    return f"{name}_hours" if name.endswith(("_p50", "_p90")) else name


def _csv_value(name: str, value: float | None) -> float | None:
    """What the wide CSV holds for a figure the selector gave."""
    return hours(value) if name.endswith(("_p50", "_p90")) else value


def _pdf(content: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return re.sub(r"\s+", " ", text)


def _number(text: str) -> float | None:
    return None if text == "" else float(text)


def test_page_api_csv_and_pdf_agree_with_the_selector(client, dataset, frozen):
    pm = dataset.world.pm
    report = report_weekly(user=pm, week=WEEK)

    page = _get(client, pm, "reports-weekly", week=WEEK)
    api = _get(client, pm, "api:reports-sla", week=WEEK)
    export = _get(client, pm, "reports-weekly-csv", week=WEEK)
    pdf = _get(client, pm, "reports-weekly-pdf", week=WEEK)
    breaches_csv = _get(client, pm, "reports-weekly-breaches-csv", week=WEEK)

    assert [r.status_code for r in (page, api, export, pdf, breaches_csv)] == [200] * 5
    assert export["Content-Type"].startswith("text/csv") and pdf["Content-Type"] == "application/pdf"
    html, data, rows, text = unescape(page.content.decode()), api.json(), _csv(export.content), _pdf(pdf.content)

    # API: the raw figures, identical.
    assert data["summary"] == asdict(report.summary)
    assert data["previous"] == asdict(report.previous)
    assert data["change"] == report.change
    assert data["backlog_by_age"] == report.backlog_by_age and data["backlog_by_state"] == report.backlog_by_state
    assert [b["reference"] for b in data["breaches"]] == [b.reference for b in report.breaches]
    assert [b["late_seconds"] for b in data["breaches"]] == [b.late_seconds for b in report.breaches]
    vendor_rows = {row["key"]: row["figures"] for row in data["breakdowns"]["vendor"]}
    assert vendor_rows == {row.key: asdict(row.figures) for row in report.breakdowns["vendor"]}

    # CSV: the same numbers, one row per slice; durations in hours with one decimal.
    (summary,) = [row for row in rows if row["section"] == "summary"]
    assert {name: _number(summary[_column(name)]) for name in FIGURES} == {
        name: _csv_value(name, getattr(report.summary, name)) for name in FIGURES
    }
    assert summary["pick_up_wall_p50_hours"] == "4.0" and summary["resolve_working_p90_hours"] == "23.6"
    # The API's seconds and the CSV's hours are the same figures.
    assert summary["resolve_wall_p50_hours"] == str(round(data["summary"]["resolve_wall_p50"] / 3600, 1))
    by_vendor = {
        row["key"]: {name: _number(row[_column(name)]) for name in FIGURES}
        for row in rows
        if row["section"] == "breakdown" and row["dimension"] == "vendor"
    }
    assert by_vendor == {
        s.key: {name: _csv_value(name, getattr(s.figures, name)) for name in FIGURES}
        for s in report.breakdowns["vendor"]
    }
    breach_rows = _csv(breaches_csv.content)
    assert {row["reference"]: float(row["late_hours"]) for row in breach_rows} == {
        b.reference: hours(b.late_seconds) for b in report.breaches
    }

    # Page and PDF: the same figures, formatted the same way, on the same headline rows.
    for name, label, kind in HEADLINES:
        value = figure_text(getattr(report.summary, name), kind)
        previous = figure_text(getattr(report.previous, name), kind)
        change = change_text(report.change[name], kind)
        cells = f"<td>{value}</td><td>{previous}</td><td>{change}</td>"
        assert f'<tr data-figure="{name}"><th scope="row">{label}</th>{cells}</tr>' in html
        assert pdf_text(f"{label} {value} {previous} {change}") in text
    for breach in report.breaches:
        late = figure_text(breach.late_seconds, "duration")
        assert f">{breach.reference}</a></th>" in html and f"<td>{late}</td>" in html
        assert f"{breach.reference} {breach.vendor} {breach.priority} {breach.measure}" in text
    assert "Breaches (5)" in text and 'Breaches <span class="muted">(5)</span>' in html
    # The breakdowns: each vendor's row reads the same on the page and in the PDF.
    for s in report.breakdowns["vendor"]:
        created, resolved = (figure_text(getattr(s.figures, n), "count") for n in ("created", "resolved"))
        compliance = figure_text(s.figures.sla_response_compliance, "percent")
        assert f'<tr><th scope="row">{s.label}</th><td>{created}</td>' in html
        assert re.search(rf"{re.escape(s.label)} {created} \d+ {resolved} .*? {re.escape(pdf_text(compliance))}", text)


def test_csv_and_api_for_a_vendor_lead_hold_none_of_the_other_vendors_numbers(client, dataset, frozen):
    lead = dataset.world.other_vendor_lead  # GWL
    api = _get(client, lead, "api:reports-sla", week=WEEK, vendor="optit").json()
    rows = _csv(_get(client, lead, "reports-weekly-csv", week=WEEK, vendor="optit").content)
    html = _get(client, lead, "reports-weekly", week=WEEK, vendor="optit").content.decode()

    assert api["filters"]["vendor"] == "gwl"
    assert api["summary"]["created"] == 2
    assert [row["key"] for row in api["breakdowns"]["vendor"]] == ["gwl"]
    assert {b["reference"] for b in api["breaches"]} == {"R3", "R4", "R12"}
    breaches = _csv(_get(client, lead, "reports-weekly-breaches-csv", week=WEEK, vendor="optit").content)
    assert not [row for row in rows if "OptIT" in row["label"] or row["key"] == "optit"]
    assert {row["reference"] for row in breaches} == {"R3", "R4", "R12"}
    assert {row["vendor"] for row in breaches} == {"GWL"}
    assert "OptIT" not in re.sub(r"<select.*?</select>", "", html, flags=re.S) and ">R11<" not in html
    assert 'name="vendor"' not in html  # no vendor picker for a lead


@pytest.mark.parametrize("role", ["requester", "vendor_engineer"])
@pytest.mark.parametrize("name", ["reports-weekly", "reports-weekly-csv", "reports-weekly-pdf", "reports-dashboard"])
def test_requesters_and_engineers_are_refused(client, dataset, role, name):
    assert _get(client, getattr(dataset.world, role), name, week=WEEK).status_code == 403


@pytest.mark.parametrize("role", ["requester", "vendor_engineer"])
def test_api_refuses_requesters_and_engineers_in_the_error_shape(client, dataset, role):
    response = _get(client, getattr(dataset.world, role), "api:reports-sla", week=WEEK)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_anonymous_users_sign_in_first(client, dataset):
    assert client.get(reverse("api:reports-sla")).status_code == 401
    page = client.get(reverse("reports-weekly"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"week": "2026-47"}, "week"),
        ({"week": "2026-W99"}, "week"),
        ({"vendor": "nobody"}, "vendor"),
        ({"type": "Magic"}, "type"),
    ],
)
def test_bad_query_is_a_400_naming_the_field(client, dataset, params, field):
    pm = dataset.world.pm
    response = _get(client, pm, "api:reports-sla", **{"week": WEEK, **params})

    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid" and field in body["fields"]
    if field != "type":
        page = _get(client, pm, "reports-weekly", **{"week": WEEK, **params})
        assert page.status_code == 400 and 'role="alert"' in page.content.decode()
        assert _get(client, pm, "reports-weekly-csv", **{"week": WEEK, **params}).status_code == 400


def test_without_a_week_the_report_is_last_weeks(client, dataset):
    with time_machine.travel(NOW, tick=False):  # Wednesday of W48
        data = _get(client, dataset.world.pm, "api:reports-sla").json()
    assert data["week"] == WEEK and data["summary"]["created"] == 7


def test_charts_are_accessible_svg_with_tables(client, dataset, frozen):
    html = _get(client, dataset.world.pm, "reports-weekly", week=WEEK).content.decode()

    assert html.count("<figure") == 3 and html.count("<figcaption>") == 3
    # Each chart is drawn wide and narrow; CSS shows one (display: none takes the other out of the a11y tree).
    assert html.count('role="img"') == 6 and html.count('class="chart chart--narrow"') == 3
    assert 'aria-label="Requests created and resolved per week, 2026-W40 to 2026-W47"' in html
    assert "<caption>Compliance and traction per week</caption>" in html and 'id="backlog-age"' in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html  # nothing from a CDN


def test_dashboard_page_shows_live_counts(client, dataset, frozen):
    html = _get(client, dataset.world.pm, "reports-dashboard").content.decode()

    assert '<span class="stat__value" id="open-total">6</span>' in html
    assert '<span class="stat__value" id="breached">3</span>' in html  # still open: R3 (met late), R4 and R12
    assert '<span class="stat__value" id="today-intake">0</span>' in html
    assert "This week so far (2026-W48)" in html


def test_dashboard_for_a_vendor_lead_is_their_vendor(client, dataset, frozen):
    html = _get(client, dataset.world.other_vendor_lead, "reports-dashboard").content.decode()

    assert '<span class="stat__value" id="open-total">3</span>' in html  # R3 R4 R12
    assert "OptIT" not in html


def test_openapi_schema_describes_the_report(client, dataset):
    client.force_login(dataset.world.pm)
    schema = client.get(reverse("api:schema"), {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/reports/sla/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"week", "vendor", "environment", "priority", "type"}
    assert set(operation["responses"]) >= {"200", "400", "401", "403"}
    assert "sla_response_compliance" in schema["components"]["schemas"]["Figures"]["properties"]


def test_python_percentiles_equal_percentile_cont(dataset):
    """The SQLite fallback, run over the same rows, gives what PostgreSQL's percentile_cont gave."""
    report = report_weekly(user=dataset.world.pm, week=WEEK, now=NOW)
    scope = _scope(dataset.world.pm, vendor=None, environment=None, priority=None, request_type=None)
    dimensions = [None, "vendor", "environment", "priority", "request_type"]
    queryset = _percentile_queryset(scope, report.start, report.end)

    python = _percentiles_python(queryset, report.start, report.end, dimensions, _durations())
    assert python == _percentiles(scope, report.start, report.end, dimensions)
    assert python[(None, None)]["pick_up_wall_p90"] == report.summary.pick_up_wall_p90
    assert python[("priority", "P2")]["pick_up_wall_p50"] == 26 * 3600
