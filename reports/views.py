"""Report pages and downloads. Each parses the query string, calls one selector and renders it."""

from __future__ import annotations

import inspect
import re
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape, linebreaks
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from portal.exceptions import Forbidden, ValidationFailed
from portal.http import AuthenticatedHttpRequest
from requests_app.permissions import sees_every_vendors_report
from sla.selectors import SLA_STATUS_CHOICES, STATE_GROUP_CHOICES

from .chart_sets import dashboard_charts, metrics_charts, weekly_charts
from .charts import Chart, responsive
from .exports import CSV_FORMATS, report_breaches_csv, report_csv, report_incidents_csv, report_pdf
from .formatting import (
    AGE_LABELS,
    DIMENSION_LABELS,
    HEADLINES,
    STATE_LABELS,
    change_text,
    figure_text,
    incident_sections,
)
from .forms import MetricsFilterForm, ReportFilterForm
from .metrics import FIGURE_DEFINITIONS, delivery_metrics
from .selectors import DIMENSIONS, Dashboard, WeeklyReport, report_dashboard, report_week_default, report_weekly

QUERY_KEYS = ("week", "vendor", "environment", "priority", "type")


def _arguments(request: AuthenticatedHttpRequest) -> dict[str, Any]:
    """The selector's keyword arguments from the query string; no week means the last complete one."""
    query = {key: request.GET.get(key, "").strip() for key in QUERY_KEYS}
    return {
        "week": query["week"] or report_week_default(),
        "vendor": query["vendor"] or None,
        "environment": query["environment"] or None,
        "priority": query["priority"] or None,
        "request_type": query["type"] or None,
    }


def _report(request: AuthenticatedHttpRequest) -> WeeklyReport:
    try:
        return report_weekly(user=request.user, **_arguments(request))
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc


def _query(report: WeeklyReport) -> str:
    return urlencode({"week": report.week, **{k: v for k, v in report.filters.items() if v}})


def _headline(report: WeeklyReport) -> list[dict[str, str]]:
    return [
        {
            "name": name,
            "label": label,
            "value": figure_text(getattr(report.summary, name), kind),
            "previous": figure_text(getattr(report.previous, name), kind),
            "change": change_text(report.change[name], kind),
        }
        for name, label, kind in HEADLINES
    ]


def _breakdowns(report: WeeklyReport) -> list[dict[str, Any]]:
    out = []
    for dimension in DIMENSIONS:
        rows = []
        for row in report.breakdowns[dimension]:
            rows.append(
                {
                    "label": row.label,
                    "cells": [figure_text(getattr(row.figures, name), kind) for name, _, kind in HEADLINES],
                    "ages": list(row.backlog_by_age.values()),
                    "states": list(row.backlog_by_state.values()),
                }
            )
        out.append({"dimension": dimension, "label": DIMENSION_LABELS[dimension], "rows": rows})
    return out


def _charts(charts: dict[str, Chart]) -> dict[str, SafeString]:
    return {name: responsive(chart) for name, chart in charts.items()}


@login_required
def report_weekly_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The weekly report for any week, with charts, tables, breaches and the downloads."""
    locked = not sees_every_vendors_report(request.user)
    try:
        report = _report(request)
    except ValidationFailed as exc:
        form = ReportFilterForm(request.GET, vendor_locked=locked)
        context = {"form": form, "error": exc, "report": None}
        return render(request, "reports/report_weekly.html", context, status=400)
    form = ReportFilterForm(initial={"week": report.week, **report.filters}, vendor_locked=locked)
    query = _query(report)
    context = {
        "form": form,
        "report": report,
        "headline": _headline(report),
        "breakdowns": _breakdowns(report),
        "charts": _charts(weekly_charts(report)),
        "age_labels": list(AGE_LABELS.values()),
        "state_labels": [STATE_LABELS[s] for s in report.backlog_by_state],
        "backlog_by_age": [(AGE_LABELS[k], v) for k, v in report.backlog_by_age.items()],
        "backlog_by_state": [(STATE_LABELS[k], v) for k, v in report.backlog_by_state.items()],
        "trend": list(zip(report.compliance_trend, report.traction, strict=True)),
        "breaches": [(breach, figure_text(breach.late_seconds, "duration")) for breach in report.breaches],
        "csv_url": f"{reverse('reports-weekly-csv')}?{query}",
        "breaches_csv_url": f"{reverse('reports-weekly-breaches-csv')}?{query}",
        "incidents_csv_url": f"{reverse('reports-weekly-incidents-csv')}?{query}",
        "incident_sections": incident_sections(report),
        "pdf_url": f"{reverse('reports-weekly-pdf')}?{query}",
        "previous_url": f"{reverse('reports-weekly')}?{_query_for(report, report.previous_week)}",
    }
    return render(request, "reports/report_weekly.html", context)


def _query_for(report: WeeklyReport, week: str) -> str:
    return urlencode({"week": week, **{k: v for k, v in report.filters.items() if v}})


def _download_or_400(request: AuthenticatedHttpRequest) -> WeeklyReport | HttpResponse:
    try:
        return _report(request)
    except ValidationFailed as exc:
        lines = [exc.message, *(f"{field}: {' '.join(msgs)}" for field, msgs in exc.fields.items())]
        return HttpResponse("\n".join(lines), status=400, content_type="text/plain; charset=utf-8")


@login_required
def report_weekly_csv(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every figure of the weekly report as one wide CSV table (`?format=v1`: the long table of earlier releases)."""
    version = request.GET.get("format", "").strip() or CSV_FORMATS[0]
    if version not in CSV_FORMATS:
        message = f"format: “{version}” is not a CSV format; use {' or '.join(CSV_FORMATS)}."
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    report = _download_or_400(request)
    if isinstance(report, HttpResponse):
        return report
    suffix = "" if version == CSV_FORMATS[0] else f"-{version}"
    return _csv_response(report_csv(report, version), f"portico-sla-{report.week}{suffix}.csv")


@login_required
def report_weekly_breaches_csv(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The week's breached SLA clocks, one row each."""
    report = _download_or_400(request)
    if isinstance(report, HttpResponse):
        return report
    return _csv_response(report_breaches_csv(report), f"portico-sla-{report.week}-breaches.csv")


@login_required
def report_weekly_incidents_csv(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The week's break-glass grants, hypercare windows and post-incident reviews, one row each."""
    report = _download_or_400(request)
    if isinstance(report, HttpResponse):
        return report
    return _csv_response(report_incidents_csv(report), f"portico-sla-{report.week}-incidents.csv")


def _csv_response(content: str, filename: str) -> HttpResponse:
    response = HttpResponse(content.encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def report_weekly_pdf(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The whole weekly report as a PDF."""
    report = _download_or_400(request)
    if isinstance(report, HttpResponse):
        return report
    response = HttpResponse(report_pdf(report), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="portico-sla-{report.week}.pdf"'
    return response


@login_required
def report_dashboard_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The program manager's live counts and the current week so far."""
    try:
        dashboard = report_dashboard(user=request.user)
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    week = dashboard.week
    context = {
        "dashboard": dashboard,
        "tiles": dashboard_tiles(dashboard),
        "headline": [row for row in _headline(week) if row["name"] in DASHBOARD_FIGURES],
        "open_by_state": [(STATE_LABELS[k], v, _list_url(state=k)) for k, v in dashboard.open_by_state.items()],
        "open_by_priority": [
            (p, v, _list_url(state_group="open", priority=p)) for p, v in dashboard.open_by_priority.items()
        ],
        "week_url": f"{reverse('reports-weekly')}?{_query(week)}",
        "charts": _charts(dashboard_charts(dashboard)),
    }
    return render(request, "reports/report_dashboard.html", context)


def _list_url(**params: str) -> str:
    return f"{reverse('home')}?{urlencode(params)}"


def dashboard_tiles(dashboard: Dashboard) -> list[dict[str, Any]]:
    """The live tiles, each labelled with the definition it counts and linked to the list filter showing the same
    requests (same `visible_to` scope, same definition in `sla.selectors`), so the two numbers always agree."""
    groups, sla = dict(STATE_GROUP_CHOICES), dict(SLA_STATUS_CHOICES)
    today = dashboard.today_from.isoformat() if dashboard.today_from else ""
    return [
        {"id": "open-total", "value": dashboard.open_total, "label": groups["open"], "tone": "",
         "url": _list_url(state_group="open")},
        {"id": "backlog", "value": dashboard.backlog, "label": groups["backlog"], "tone": "",
         "url": _list_url(state_group="backlog")},
        {"id": "at-risk", "value": dashboard.at_risk, "label": f"SLA {sla['at_risk_open'].lower()}", "tone": "warning",
         "url": _list_url(sla_status="at_risk_open")},
        {"id": "breached", "value": dashboard.breached, "label": f"SLA {sla['breached_open'].lower()}",
         "tone": "danger", "url": _list_url(sla_status="breached_open")},
        {"id": "today-intake", "value": dashboard.today_intake, "label": "Filed today", "tone": "",
         "url": _list_url(created_after=today)},
    ]  # fmt: skip


DASHBOARD_FIGURES = {
    "created",
    "resolved",
    "sla_response_compliance",
    "sla_resolution_compliance",
    "ola_compliance",
    "pick_up_wall_p50",
    "resolve_wall_p50",
    "backlog",
}


METRIC_QUERY_KEYS = ("from", "to", "vendor", "environment", "priority", "type")


def _definition_html(doc: str) -> SafeString:
    """A figure's docstring as the page shows it: the fields it names (`created_at`) set as code, not as words."""
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(doc)))
    return mark_safe(linebreaks(html, autoescape=False))  # escaped above: only <code> and <p> are added


@login_required
def report_metrics_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Delivery metrics for a date range: MTTA/MTTR/MTTD, incident SLA attainment, DORA keys, load and trends."""
    locked = not sees_every_vendors_report(request.user)
    query = {key: request.GET.get(key, "").strip() or None for key in METRIC_QUERY_KEYS}
    try:
        metrics = delivery_metrics(
            user=request.user,
            date_from=query["from"],
            date_to=query["to"],
            vendor=query["vendor"],
            environment=query["environment"],
            priority=query["priority"],
            request_type=query["type"],
        )
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except ValidationFailed as exc:
        form = MetricsFilterForm(request.GET, vendor_locked=locked)
        return render(request, "reports/report_metrics.html", {"form": form, "error": exc, "metrics": None}, status=400)
    initial = {"from": metrics.date_from.isoformat(), "to": metrics.date_to.isoformat(), **metrics.filters}
    context = {
        "form": MetricsFilterForm(initial=initial, vendor_locked=locked),
        "metrics": metrics,
        "headline": [("Time to acknowledge (MTTA)", metrics.mtta), ("Time to resolve (MTTR)", metrics.mttr),
                     ("Time to detect (MTTD)", metrics.mttd)],
        "breakdowns": [
            {"dimension": d, "label": DIMENSION_LABELS[d], "rows": metrics.breakdowns[d]} for d in metrics.breakdowns
        ],
        "charts": _charts(metrics_charts(metrics)),
        "definitions": [(name, _definition_html(inspect.getdoc(thing) or "")) for name, thing in FIGURE_DEFINITIONS],
    }  # fmt: skip
    return render(request, "reports/report_metrics.html", context)
