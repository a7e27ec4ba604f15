"""Which charts a report has and what they plot: one place for the page, the dashboard and the PDF."""

from __future__ import annotations

from .charts import Chart, Series
from .formatting import AGE_LABELS, STATE_LABELS
from .metrics import DeliveryMetrics
from .selectors import Dashboard, WeeklyReport


def _week_number(label: str) -> str:
    return label.split("-")[1]


def compliance_chart(report: WeeklyReport) -> Chart:
    trend = report.compliance_trend
    return Chart(
        kind="line",
        label=f"SLA and OLA compliance per week, {trend[0].week} to {report.week}",
        categories=[_week_number(w.week) for w in trend],
        series=[
            Series("Response SLA", [w.sla_response_compliance for w in trend]),
            Series("Resolution SLA", [w.sla_resolution_compliance for w in trend]),
            Series("Vendor OLA", [w.ola_compliance for w in trend]),
        ],
        percent=True,
    )


def traction_chart(report: WeeklyReport) -> Chart:
    return Chart(
        kind="bar",
        label=f"Requests created and resolved per week, {report.traction[0].week} to {report.week}",
        categories=[_week_number(w.week) for w in report.traction],
        series=[
            Series("Created", [w.created for w in report.traction]),
            Series("Resolved", [w.resolved for w in report.traction]),
        ],
    )


def ageing_chart(report: WeeklyReport) -> Chart:
    return Chart(
        kind="bar",
        label=f"Backlog at the end of {report.week} by age",
        categories=list(AGE_LABELS.values()),
        series=[Series("Open requests", list(report.backlog_by_age.values()))],
    )


def weekly_charts(report: WeeklyReport) -> dict[str, Chart]:
    """The weekly report's charts, in the order the page and the PDF show them."""
    return {"compliance": compliance_chart(report), "traction": traction_chart(report), "ageing": ageing_chart(report)}


def dashboard_charts(dashboard: Dashboard) -> dict[str, Chart]:
    """Open work now by state and by priority, and the eight weeks up to this one."""
    return {
        "open_by_state": Chart(
            kind="hbar",
            label="Open requests by state, now",
            categories=[STATE_LABELS[state] for state in dashboard.open_by_state],
            series=[Series("Open requests", list(dashboard.open_by_state.values()))],
        ),
        "open_by_priority": Chart(
            kind="bar",
            label="Open requests by priority, now",
            categories=list(dashboard.open_by_priority),
            series=[Series("Open requests", list(dashboard.open_by_priority.values()))],
        ),
        "traction": traction_chart(dashboard.week),
        "compliance": compliance_chart(dashboard.week),
    }


def metrics_charts(metrics: DeliveryMetrics) -> dict[str, Chart]:
    """The delivery metrics' 12-week trends: MTTA and MTTR in hours, and deployments per week."""
    trend = metrics.trend
    span = f"{trend[0].week} to {trend[-1].week}"
    return {
        "response": Chart(
            kind="line",
            label=f"Mean time to acknowledge and to resolve production issues, hours, per week, {span}",
            categories=[_week_number(w.week) for w in trend],
            series=[
                Series("MTTA (hours)", [w.mtta.mean_hours for w in trend]),
                Series("MTTR (hours)", [w.mttr.mean_hours for w in trend]),
            ],
        ),
        "deployments": Chart(
            kind="bar",
            label=f"Deployments (releases and deployment support resolved) per week, {span}",
            categories=[_week_number(w.week) for w in trend],
            series=[Series("Deployments", [w.deployments for w in trend])],
        ),
    }
