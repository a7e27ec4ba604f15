"""The report as CSV (raw numbers, one long table) and as PDF (the whole report, as people read it).

Both take the `WeeklyReport` the selector built; neither computes a figure of its own."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from portal.csv_export import csv_writer
from portal.timefmt import format_iso, format_time

from .formatting import (
    AGE_LABELS,
    DIMENSION_LABELS,
    HEADLINE_KINDS,
    HEADLINES,
    STATE_LABELS,
    change_text,
    figure_text,
    headline_columns,
)
from .selectors import DIMENSIONS, FIGURES, WeeklyReport

CSV_HEADER = ("section", "dimension", "key", "label", "metric", "value")


def _raw(value: Any) -> Any:
    """A figure as a CSV cell: numbers stay numbers (never defused as text), dates in ISO 8601, None empty."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        return format_iso(value)  # ISO 8601 with its UTC offset
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def report_csv_rows(report: WeeklyReport) -> Iterator[tuple[Any, ...]]:
    """Every figure of the report as (section, dimension, key, label, metric, value)."""
    for section, figures in (("summary", report.summary), ("previous_week", report.previous)):
        for name in FIGURES:
            yield (section, "all", "", "All", name, _raw(getattr(figures, name)))
    for name in FIGURES:
        yield ("change", "all", "", "All", name, _raw(report.change[name]))
    for key, count in report.backlog_by_age.items():
        yield ("backlog_by_age", "all", key, AGE_LABELS[key], "count", _raw(count))
    for key, count in report.backlog_by_state.items():
        yield ("backlog_by_state", "all", key, STATE_LABELS[key], "count", _raw(count))
    for dimension in DIMENSIONS:
        for row in report.breakdowns[dimension]:
            for name in FIGURES:
                yield ("breakdown", dimension, row.key, row.label, name, _raw(getattr(row.figures, name)))
            for key, count in row.backlog_by_age.items():
                yield ("breakdown", dimension, row.key, row.label, f"backlog_age_{key}", _raw(count))
            for key, count in row.backlog_by_state.items():
                yield ("breakdown", dimension, row.key, row.label, f"backlog_state_{key}", _raw(count))
    for week in report.traction:
        yield ("traction", "week", week.week, week.week, "created", _raw(week.created))
        yield ("traction", "week", week.week, week.week, "resolved", _raw(week.resolved))
    for point in report.compliance_trend:
        for name in ("sla_response_compliance", "sla_resolution_compliance", "ola_compliance"):
            yield ("compliance_trend", "week", point.week, point.week, name, _raw(getattr(point, name)))
    for breach in report.breaches:
        key = f"{breach.reference}/{breach.measure}"
        for name in ("vendor", "priority", "measure", "due_at", "settled_at", "late_seconds", "reason"):
            yield ("breach", "request", key, breach.reference, name, _raw(getattr(breach, name)))
    yield ("breach", "all", "", "All", "breaches_total", _raw(report.breaches_total))


def report_csv(report: WeeklyReport) -> str:
    """The CSV export; labels, keys and breach reasons are user text, defused by `csv_writer`."""
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(CSV_HEADER)
    writer.writerows(report_csv_rows(report))
    return out.getvalue()


# --- PDF -------------------------------------------------------------------------------------------------
def pdf_text(text: str) -> str:
    """The built-in PDF fonts have no U+2212 minus sign; everything else we print is in their encoding."""
    return text.replace("−", "-")


def _table(rows: list[list[Any]], widths: list[float] | None = None, font_size: float = 8) -> Table:
    cells = [[pdf_text(cell) if isinstance(cell, str) else cell for cell in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Helvetica", font_size),
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", font_size),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0fa")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#d5dce5")),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


BREAKDOWN_COLUMNS = headline_columns(
    "created",
    "triaged",
    "resolved",
    "closed",
    "rejected",
    "cancelled",
    "reopened",
    "sla_response_met",
    "sla_response_breached",
    "sla_response_compliance",
    "sla_resolution_met",
    "sla_resolution_breached",
    "sla_resolution_compliance",
    "ola_compliance",
)
TIME_COLUMNS = headline_columns(
    "pick_up_wall_p50",
    "pick_up_wall_p90",
    "pick_up_working_p50",
    "pick_up_working_p90",
    "resolve_wall_p50",
    "resolve_wall_p90",
    "resolve_working_p50",
    "resolve_working_p90",
    "backlog",
    "open_per_engineer",
)


def report_pdf(report: WeeklyReport) -> bytes:
    """The whole report as a PDF (A4 landscape): headline, trends, backlog, every breakdown and the breaches."""
    styles = getSampleStyleSheet()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Portico weekly SLA report {report.week}",
        author="Portico",
    )
    filters = ", ".join(f"{k}: {v}" for k, v in report.filters.items() if v) or "all requests"
    story: list[Any] = [
        Paragraph(f"Weekly SLA report {report.week}", styles["Title"]),
        Paragraph(
            pdf_text(
                f"{format_time(report.start, tz=report.timezone)} – {format_time(report.end, tz=report.timezone)} "
                f"({report.timezone}); {filters}; generated {format_time(report.generated_at, tz=report.timezone)}."
            ),
            styles["Normal"],
        ),
        Spacer(1, 4 * mm),
        Paragraph("Headline", styles["Heading2"]),
    ]
    rows: list[list[Any]] = [["Figure", report.week, report.previous_week, "Change"]]
    for name, label, kind in HEADLINES:
        rows.append(
            [
                label,
                figure_text(getattr(report.summary, name), kind),
                figure_text(getattr(report.previous, name), kind),
                change_text(report.change[name], kind),
            ]
        )
    story += [_table(rows, [80 * mm, 35 * mm, 35 * mm, 35 * mm]), Spacer(1, 4 * mm)]

    story.append(Paragraph("Compliance trend and traction", styles["Heading2"]))
    rows = [["Week", "Response SLA", "Resolution SLA", "Vendor OLA", "Created", "Resolved"]]
    for trend, traction in zip(report.compliance_trend, report.traction, strict=True):
        rows.append(
            [
                trend.week,
                figure_text(trend.sla_response_compliance, "percent"),
                figure_text(trend.sla_resolution_compliance, "percent"),
                figure_text(trend.ola_compliance, "percent"),
                figure_text(traction.created, "count"),
                figure_text(traction.resolved, "count"),
            ]
        )
    story += [_table(rows), Spacer(1, 4 * mm)]

    story.append(Paragraph(f"Backlog at {format_time(report.backlog_at, tz=report.timezone)}", styles["Heading2"]))
    rows = [["Age", "Requests"]] + [[AGE_LABELS[k], str(v)] for k, v in report.backlog_by_age.items()]
    rows += [["State", ""]] + [[STATE_LABELS[k], str(v)] for k, v in report.backlog_by_state.items()]
    story += [_table(rows, [70 * mm, 30 * mm]), Spacer(1, 4 * mm)]

    for dimension in DIMENSIONS:
        slices = report.breakdowns[dimension]
        story.append(Paragraph(f"By {DIMENSION_LABELS[dimension].lower()}", styles["Heading2"]))
        if not slices:
            story.append(Paragraph("Nothing this week.", styles["Normal"]))
            continue
        for columns in (BREAKDOWN_COLUMNS, TIME_COLUMNS):
            rows = [[DIMENSION_LABELS[dimension]] + [label for _, label in columns]]
            for row in slices:
                rows.append(
                    [row.label] + [figure_text(getattr(row.figures, name), HEADLINE_KINDS[name]) for name, _ in columns]
                )
            story += [_table(rows, font_size=7), Spacer(1, 3 * mm)]

    story.append(Paragraph(f"Breaches ({report.breaches_total})", styles["Heading2"]))
    rows = [["Request", "Vendor", "Priority", "Measure", "Due", "Late by", "Reason"]]
    for breach in report.breaches:
        rows.append(
            [
                breach.reference,
                breach.vendor,
                breach.priority,
                breach.measure,
                format_time(breach.due_at, "short", tz=report.timezone),
                figure_text(breach.late_seconds, "duration"),
                Paragraph(escape(pdf_text(breach.reason)), styles["BodyText"]),
            ]
        )
    story.append(_table(rows, [22 * mm, 30 * mm, 16 * mm, 22 * mm, 26 * mm, 26 * mm, 120 * mm]))
    doc.build(story)
    return out.getvalue()
