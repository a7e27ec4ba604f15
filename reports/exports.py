"""The report as CSV (raw numbers, one wide table; the long v1 table on request) and as PDF (the whole report, as
people read it).

Both take the `WeeklyReport` the selector built; neither computes a figure of its own."""

from __future__ import annotations

import io
import zoneinfo
from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from html import escape
from typing import Any, cast

from django.contrib.staticfiles import finders
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from svglib.svglib import svg2rlg

from portal.csv_export import csv_writer
from portal.timefmt import format_iso, format_time

from .chart_sets import weekly_charts
from .charts import Chart, svg
from .formatting import (
    AGE_LABELS,
    DIMENSION_LABELS,
    HEADLINE_KINDS,
    HEADLINES,
    STATE_LABELS,
    change_text,
    figure_text,
    headline_columns,
    incident_sections,
)
from .periods import week_parse
from .selectors import BACKLOG_STATES, DIMENSIONS, FIGURES, Figures, WeeklyReport

CSV_FORMATS = ("v2", "v1")
CSV_HEADER_V1 = ("section", "dimension", "key", "label", "metric", "value")
# A byte-order mark first: Excel otherwise reads a UTF-8 CSV as the local code page and mangles "1–3 days" and
# any vendor name outside ASCII. LibreOffice, Numbers, pandas and Python's "utf-8-sig" all skip it.
BOM = "\ufeff"
DURATIONS = tuple(name for name in FIGURES if name.endswith(("_p50", "_p90")))


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _raw(value: Any, tz: tzinfo | str | None = None) -> Any:
    """A figure as a CSV cell: numbers stay numbers (never defused as text), dates in ISO 8601, None empty.

    An instant is written in `tz`, else in the zone it carries (the report's, for periods): never in the zone of
    whoever downloads the file, so the same report gives the same file."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        return format_iso(value, tz or value.tzinfo)  # ISO 8601 with its UTC offset
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def hours(seconds: float | None) -> float | None:
    """A duration for a spreadsheet: hours with one decimal (48777.12 s is 13.5)."""
    return None if seconds is None else round(seconds / 3600, 1)


def _metric_columns() -> list[str]:
    return [f"{name}_hours" if name in DURATIONS else name for name in FIGURES]


def csv_header() -> list[str]:
    """The wide CSV's columns: what a row is, its period, one column per figure, then the backlog's split."""
    return [
        "section",
        "dimension",
        "key",
        "label",
        "period_start",
        "period_end",
        *_metric_columns(),
        *[f"backlog_age_{key}" for key in AGE_LABELS],
        *[f"backlog_state_{state}" for state in BACKLOG_STATES],
    ]


def _metrics(values: dict[str, Any]) -> list[Any]:
    return [_raw(hours(values[name]) if name in DURATIONS else values[name]) for name in FIGURES]


def _figures(figures: Figures) -> dict[str, Any]:
    return {name: getattr(figures, name) for name in FIGURES}


def _backlog(ages: dict[str, int] | None, states: dict[str, int] | None) -> list[Any]:
    return [_raw((ages or {}).get(k)) for k in AGE_LABELS] + [_raw((states or {}).get(s)) for s in BACKLOG_STATES]


def report_csv_wide_rows(report: WeeklyReport) -> Iterator[list[Any]]:
    """One row per thing measured (the week, the week before, the change, each vendor, environment, priority and
    type, each week of the trend), one column per figure; durations in hours, instants in ISO 8601 with offset."""
    tz = report.timezone
    previous = week_parse(report.previous_week, tz=tz)
    period = [_raw(report.start), _raw(report.end)]
    yield [
        "summary",
        "all",
        "",
        "All",
        *period,
        *_metrics(_figures(report.summary)),
        *_backlog(report.backlog_by_age, report.backlog_by_state),
    ]
    yield [
        "previous_week",
        "all",
        "",
        "All",
        _raw(previous.start),
        _raw(previous.end),
        *_metrics(_figures(report.previous)),
        *_backlog(None, None),
    ]
    yield ["change", "all", "", "All", *period, *_metrics(report.change), *_backlog(None, None)]
    for dimension in DIMENSIONS:
        for row in report.breakdowns[dimension]:
            yield [
                "breakdown",
                dimension,
                row.key,
                row.label,
                *period,
                *_metrics(_figures(row.figures)),
                *_backlog(row.backlog_by_age, row.backlog_by_state),
            ]
    for trend, traction in zip(report.compliance_trend, report.traction, strict=True):
        week = week_parse(trend.week, tz=tz)
        values: dict[str, Any] = dict.fromkeys(FIGURES)
        values.update(
            created=traction.created,
            resolved=traction.resolved,
            sla_response_compliance=trend.sla_response_compliance,
            sla_resolution_compliance=trend.sla_resolution_compliance,
            ola_compliance=trend.ola_compliance,
        )
        yield [
            "trend",
            "week",
            trend.week,
            trend.week,
            _raw(week.start),
            _raw(week.end),
            *_metrics(values),
            *_backlog(None, None),
        ]


BREACH_HEADER = (
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
)


def report_breaches_csv(report: WeeklyReport) -> str:
    """The week's breaches, one row each; due and settled times in the report's timezone, with their offset."""
    zone = zoneinfo.ZoneInfo(report.timezone)
    out = io.StringIO()
    out.write(BOM)
    writer = csv_writer(out)
    writer.writerow(BREACH_HEADER)
    for breach in report.breaches:
        writer.writerow(
            [
                breach.reference,
                breach.title,
                breach.vendor,
                breach.priority,
                breach.measure,
                _raw(breach.due_at, zone),
                _raw(breach.settled_at, zone),
                _raw(hours(breach.late_seconds)),
                breach.reason,
                yes_no(breach.extended),
            ]
        )
    return out.getvalue()


INCIDENT_HEADER = (
    "section",
    "reference",
    "title",
    "vendor",
    "environment",
    "stack",
    "priority",
    "request_type",
    "who",
    "system",
    "target",
    "start",
    "end",
    "review",
    "review_due",
    "reviewed_by",
    "needs_attention",
    "issues",
    "breached",
    "issue_references",
    "action_items",
    "action_items_open",
)


def _incident_rows(report: WeeklyReport) -> Iterator[dict[str, Any]]:
    """The incident sections' entries as CSV rows: a break-glass grant (start = granted, end = expires), a hypercare
    window (its start and end) or a resolved P0/P1 incident (start = resolved) with its review."""
    for grant in report.break_glass:
        yield {
            "section": "break_glass", "reference": grant.reference, "vendor": grant.vendor, "who": grant.subject,
            "system": grant.system, "target": grant.target, "start": grant.granted_at, "end": grant.expires_at,
            "review": grant.review, "review_due": grant.review_due_at, "reviewed_by": grant.reviewed_by,
            "needs_attention": yes_no(grant.attention),
        }  # fmt: skip
    for window in report.hypercare:
        yield {
            "section": "hypercare", "reference": window.reference, "title": window.title, "vendor": window.vendor,
            "environment": window.environment, "stack": window.stack, "request_type": window.request_type,
            "start": window.starts_at, "end": window.ends_at, "issues": window.issues, "breached": window.breached,
            "issue_references": " ".join(window.issue_references), "needs_attention": yes_no(False),
        }  # fmt: skip
    for incident in report.incident_reviews:
        yield {
            "section": "incident_review", "reference": incident.reference, "title": incident.title,
            "vendor": incident.vendor, "environment": incident.environment, "priority": incident.priority,
            "start": incident.resolved_at, "review": incident.review_status,
            "needs_attention": yes_no(incident.attention), "action_items": incident.action_items,
            "action_items_open": incident.action_items_open,
        }  # fmt: skip


def report_incidents_csv(report: WeeklyReport) -> str:
    """The week's break-glass grants, hypercare windows and post-incident reviews, one row each (a `section`
    column says which); cells that do not apply to a section are empty; times in the report's timezone."""
    zone = zoneinfo.ZoneInfo(report.timezone)
    out = io.StringIO()
    out.write(BOM)
    writer = csv_writer(out)
    writer.writerow(INCIDENT_HEADER)
    for row in _incident_rows(report):
        writer.writerow([_raw(row.get(name), zone) for name in INCIDENT_HEADER])
    return out.getvalue()


def report_csv(report: WeeklyReport, version: str = "v2") -> str:
    """The CSV export: v2 (wide, the default) or v1 (the long table of earlier releases, without a BOM).

    Labels, keys and breach reasons are user text, defused by `csv_writer`."""
    out = io.StringIO()
    if version == "v1":
        writer = csv_writer(out)
        writer.writerow(CSV_HEADER_V1)
        writer.writerows(report_csv_rows(report))
        return out.getvalue()
    out.write(BOM)
    writer = csv_writer(out)
    writer.writerow(csv_header())
    writer.writerows(report_csv_wide_rows(report))
    return out.getvalue()


def report_csv_rows(report: WeeklyReport) -> Iterator[tuple[Any, ...]]:
    """v1: every figure of the report as (section, dimension, key, label, metric, value); durations in seconds."""
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
            yield ("breach", "request", key, breach.reference, name, _raw(getattr(breach, name), report.timezone))
        yield ("breach", "request", key, breach.reference, "extended", yes_no(breach.extended))
    yield ("breach", "all", "", "All", "breaches_total", _raw(report.breaches_total))


# --- PDF -------------------------------------------------------------------------------------------------
PAGE_SIZE = landscape(A4)
MARGIN = 12 * mm
CHART_WIDTH = 220 * mm
PAPER = (960, 250)
# Room a heading needs below it (itself, a table header and a few rows, or most of a chart) before the page ends.
HEADING_ROOM = 35 * mm


def pdf_text(text: str) -> str:
    """The built-in PDF fonts have no U+2212 minus sign; everything else we print is in their encoding."""
    return text.replace("−", "-")


def _table(rows: list[list[Any]], widths: list[float] | None = None, font_size: float = 8) -> Table:
    cells = [[pdf_text(cell) if isinstance(cell, str) else cell for cell in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
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
    "csat_count",
    "csat_average",
)


def pdf_date(instant: datetime) -> str:
    """`instant` as a PDF date (ISO 32000-1 §7.9.4), offset included: D:20261125120000+05'30'.

    reportlab writes the process's local time and drops the minutes of the offset (+05'00' for India)."""
    offset = instant.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    hours, minutes = divmod(abs(int(offset.total_seconds())) // 60, 60)
    return f"D:{instant:%Y%m%d%H%M%S}{sign}{hours:02d}'{minutes:02d}'"


def _local(report: WeeklyReport, instant: datetime) -> datetime:
    return instant.astimezone(zoneinfo.ZoneInfo(report.timezone))


def _canvas_maker(report: WeeklyReport) -> type[Canvas]:
    """A canvas that knows the page count ("Page N of M", drawn once every page is laid out) and dates the file
    with the report's generated time in the report's timezone."""
    created = pdf_date(_local(report, report.generated_at))
    footer = pdf_text(f"Portico weekly SLA report {report.week}")

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.setDateFormatter(lambda *_: created)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # reportlab's own reset, missing from its stubs

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                width, _ = PAGE_SIZE
                self.setFont("Helvetica", 8)
                self.setFillColor(colors.HexColor("#55606e"))
                self.drawString(MARGIN, 7 * mm, footer)
                self.drawRightString(width - MARGIN, 7 * mm, f"Page {number} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def _svg_drawing(source: str | io.StringIO, width: float) -> Drawing:
    """An SVG (a chart, the logo) as a reportlab drawing `width` points wide."""
    drawing = svg2rlg(source)
    if drawing is None:  # svglib returns None for a file it cannot parse; ours always parse
        raise ValueError("unreadable SVG")
    factor = width / drawing.width
    drawing.scale(factor, factor)
    drawing.width, drawing.height = drawing.width * factor, drawing.height * factor
    return drawing


def _chart(chart: Chart) -> Drawing:
    """`chart` drawn as on the page (a little flatter, so two fit a page), converted: the same chart on paper."""
    drawing = _svg_drawing(io.StringIO(str(svg(chart, PAPER))), CHART_WIDTH)
    drawing.hAlign = "LEFT"
    return drawing


def _styles() -> dict[str, ParagraphStyle]:
    sheet = getSampleStyleSheet()
    heading = ParagraphStyle("ReportHeading", parent=sheet["Heading2"], spaceBefore=2 * mm)
    title = ParagraphStyle("ReportTitle", parent=sheet["Title"], alignment=0, spaceAfter=1 * mm, fontSize=18)
    normal, body = cast(ParagraphStyle, sheet["Normal"]), cast(ParagraphStyle, sheet["BodyText"])
    return {"title": title, "heading": heading, "normal": normal, "body": body}


def _heading(text: str, styles: dict[str, ParagraphStyle]) -> list[Any]:
    """A heading that never ends a page: when too little room is left for it, a table's header and a few rows,
    it starts the next page. (A long table then splits below it; keepWithNext would move the whole table.)"""
    return [CondPageBreak(HEADING_ROOM), Paragraph(escape(pdf_text(text)), styles["heading"])]


def _chart_section(text: str, chart: Chart, styles: dict[str, ParagraphStyle]) -> list[Any]:
    """A heading and its chart, which cannot split, on the same page."""
    return [KeepTogether([Paragraph(escape(pdf_text(text)), styles["heading"]), _chart(chart)]), Spacer(1, 2 * mm)]


def _title_block(report: WeeklyReport, styles: dict[str, ParagraphStyle]) -> Table:
    filters = ", ".join(f"{k}: {v}" for k, v in report.filters.items() if v) or "all requests"
    start, end, generated = (
        format_time(t, tz=report.timezone) for t in (report.start, report.end, report.generated_at)
    )
    logo_path = finders.find("img/portico.svg")
    logo = _svg_drawing(str(logo_path), 16 * mm)
    text = [
        Paragraph(escape(f"Portico · Weekly SLA report {report.week}"), styles["title"]),
        Paragraph(escape(pdf_text(f"{start} – {end} ({report.timezone}); {filters}.")), styles["normal"]),
        Paragraph(escape(f"Generated {generated} ({report.timezone})."), styles["normal"]),
    ]
    block = Table([[logo, text]], colWidths=[20 * mm, None])
    block.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, 0), 1, colors.HexColor("#1d4f91")),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3 * mm),
            ]
        )
    )
    return block


def report_pdf(report: WeeklyReport) -> bytes:
    """The whole report as a PDF (A4 landscape): title block, headline, trends and their charts, backlog, every
    breakdown and the breaches; "Page N of M" at the foot of each page."""
    styles = _styles()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=PAGE_SIZE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=f"Portico weekly SLA report {report.week}",
        author="Portico",
        subject=f"SLA and OLA figures for {report.week} ({report.timezone})",
        creator="Portico",
    )
    charts = weekly_charts(report)
    story: list[Any] = [_title_block(report, styles), Spacer(1, 4 * mm), *_heading("Headline", styles)]
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

    story += _chart_section("Compliance trend", charts["compliance"], styles)
    story += _chart_section("Created vs resolved", charts["traction"], styles)
    story += _heading("Compliance and traction per week", styles)
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

    story += _chart_section(
        f"Backlog at {format_time(report.backlog_at, tz=report.timezone)}", charts["ageing"], styles
    )
    rows = [["Age", "Requests"]] + [[AGE_LABELS[k], str(v)] for k, v in report.backlog_by_age.items()]
    rows += [["State", ""]] + [[STATE_LABELS[k], str(v)] for k, v in report.backlog_by_state.items()]
    story += [_table(rows, [70 * mm, 30 * mm]), Spacer(1, 4 * mm)]

    for dimension in DIMENSIONS:
        slices = report.breakdowns[dimension]
        story += _heading(f"By {DIMENSION_LABELS[dimension].lower()}", styles)
        if not slices:
            story.append(Paragraph("Nothing this week.", styles["normal"]))
            continue
        for columns in (BREAKDOWN_COLUMNS, TIME_COLUMNS):
            rows = [[DIMENSION_LABELS[dimension]] + [label for _, label in columns]]
            for row in slices:
                rows.append(
                    [row.label] + [figure_text(getattr(row.figures, name), HEADLINE_KINDS[name]) for name, _ in columns]
                )
            story += [_table(rows, font_size=7), Spacer(1, 3 * mm)]

    story += _heading(f"Breaches ({report.breaches_total})", styles)
    rows = [["Request", "Vendor", "Priority", "Measure", "Due", "Late by", "Reason", "Extended"]]
    for breach in report.breaches:
        rows.append(
            [
                breach.reference,
                breach.vendor,
                breach.priority,
                breach.measure,
                format_time(breach.due_at, "short", tz=report.timezone),
                figure_text(breach.late_seconds, "duration"),
                Paragraph(escape(pdf_text(breach.reason)), styles["body"]),
                yes_no(breach.extended),
            ]
        )
    story.append(_table(rows, [22 * mm, 30 * mm, 16 * mm, 22 * mm, 26 * mm, 26 * mm, 104 * mm, 16 * mm]))
    story += _incident_story(report, styles)
    doc.build(story, canvasmaker=_canvas_maker(report))
    return out.getvalue()


# Column widths (mm) of the incident sections; A4 landscape leaves 273 mm between the margins.
INCIDENT_WIDTHS = {
    "break-glass": [24, 30, 30, 60, 30, 30, 69],
    "hypercare": [24, 30, 26, 26, 26, 60, 14, 16, 51],
    "incident-reviews": [24, 16, 36, 36, 34, 55, 36, 36],
}
ATTENTION_INK = colors.HexColor("#b42318")


def _cell(text: str, attention: bool) -> Paragraph:
    style = ParagraphStyle("IncidentCell", fontName="Helvetica", fontSize=7, leading=8.5)
    if attention:
        style.textColor = ATTENTION_INK
    return Paragraph(escape(pdf_text(text)), style)


def _incident_story(report: WeeklyReport, styles: dict[str, ParagraphStyle]) -> list[Any]:
    """The incident sections as the page shows them (the same rows of text), each under a heading that keeps
    its summary and the start of its table on the same page; rows needing attention in red."""
    story: list[Any] = [Spacer(1, 4 * mm)]
    for section in incident_sections(report):
        story += _heading(f"{section.title} ({len(section.rows)})", styles)
        story.append(Paragraph(escape(pdf_text(section.summary)), styles["normal"]))
        story.append(Spacer(1, 2 * mm))
        if not section.rows:
            story += [Paragraph(escape(pdf_text(section.empty)), styles["normal"]), Spacer(1, 3 * mm)]
            continue
        rows: list[list[Any]] = [list(section.columns)]
        # The last cell (issues filed, the review's standing) may run long: it wraps instead of overflowing.
        rows += [[row.reference, *row.cells[:-1], _cell(row.cells[-1], row.attention)] for row in section.rows]
        table = _table(rows, [w * mm for w in INCIDENT_WIDTHS[section.key]], font_size=7)
        for index, row in enumerate(section.rows, start=1):
            if row.attention:
                table.setStyle(TableStyle([("TEXTCOLOR", (0, index), (-1, index), ATTENTION_INK)]))
        story += [table, Spacer(1, 3 * mm)]
    return story
