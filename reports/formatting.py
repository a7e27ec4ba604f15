"""How report figures read to people (page, PDF, e-mail); the API and CSV keep the raw numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from portal.timefmt import format_time

from .selectors import AGE_LABELS, DIMENSION_LABELS, WeeklyReport  # noqa: F401  (re-exported for templates and the PDF)

HEADLINES = [
    ("created", "Created", "count"),
    ("triaged", "Triaged", "count"),
    ("resolved", "Resolved", "count"),
    ("closed", "Closed", "count"),
    ("rejected", "Rejected", "count"),
    ("cancelled", "Cancelled", "count"),
    ("reopened", "Reopened", "count"),
    ("sla_response_met", "Response SLA met", "count"),
    ("sla_response_breached", "Response SLA breached", "count"),
    ("sla_response_compliance", "Response SLA compliance", "percent"),
    ("sla_resolution_met", "Resolution SLA met", "count"),
    ("sla_resolution_breached", "Resolution SLA breached", "count"),
    ("sla_resolution_compliance", "Resolution SLA compliance", "percent"),
    ("ola_met", "Vendor OLA met", "count"),
    ("ola_breached", "Vendor OLA breached", "count"),
    ("ola_compliance", "Vendor OLA compliance", "percent"),
    ("pick_up_wall_p50", "Time to pick up, median (wall)", "duration"),
    ("pick_up_wall_p90", "Time to pick up, p90 (wall)", "duration"),
    ("pick_up_working_p50", "Time to pick up, median (working)", "duration"),
    ("pick_up_working_p90", "Time to pick up, p90 (working)", "duration"),
    ("resolve_wall_p50", "Time to resolve, median (wall)", "duration"),
    ("resolve_wall_p90", "Time to resolve, p90 (wall)", "duration"),
    ("resolve_working_p50", "Time to resolve, median (working)", "duration"),
    ("resolve_working_p90", "Time to resolve, p90 (working)", "duration"),
    ("backlog", "Backlog at end of week (open, or resolved awaiting confirmation)", "count"),
    ("open_per_engineer", "Open requests per vendor engineer", "ratio"),
    ("csat_count", "Ratings given (requester satisfaction)", "count"),
    ("csat_average", "Average rating (1–5)", "ratio"),
]
HEADLINE_KINDS = {name: kind for name, _, kind in HEADLINES}
# The PDF's narrow table columns: the same figures as HEADLINES, with shorter headings.
SHORT_LABELS = {
    "sla_response_met": "Resp. met",
    "sla_response_breached": "Resp. breached",
    "sla_response_compliance": "Resp. %",
    "sla_resolution_met": "Res. met",
    "sla_resolution_breached": "Res. breached",
    "sla_resolution_compliance": "Res. %",
    "ola_compliance": "OLA %",
    "pick_up_wall_p50": "Pick-up p50",
    "pick_up_wall_p90": "Pick-up p90",
    "pick_up_working_p50": "Pick-up p50 (work)",
    "pick_up_working_p90": "Pick-up p90 (work)",
    "resolve_wall_p50": "Resolve p50",
    "resolve_wall_p90": "Resolve p90",
    "resolve_working_p50": "Resolve p50 (work)",
    "resolve_working_p90": "Resolve p90 (work)",
    "backlog": "Backlog",
    "open_per_engineer": "Open / engineer",
    "csat_count": "Ratings",
    "csat_average": "Avg rating",
}


def headline_columns(*names: str) -> list[tuple[str, str]]:
    """(name, short heading) for the named HEADLINES figures, in the order given."""
    labels = {name: SHORT_LABELS.get(name, label) for name, label, _ in HEADLINES}
    return [(name, labels[name]) for name in names]


STATE_LABELS = {
    "submitted": "Submitted",
    "pending_approval": "Pending approval",
    "queued": "Queued",
    "in_progress": "In progress",
    "waiting_on_requester": "Waiting on requester",
    "blocked": "Blocked",
    "resolved": "Resolved (awaiting confirmation)",
}


def duration_text(seconds: float | None) -> str:
    """3 d 4 h, 5 h 20 min, 45 min: minutes are the finest grain a weekly report needs."""
    if seconds is None:
        return "—"
    minutes = round(abs(seconds) / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes)
    return ("−" if seconds < 0 else "") + (" ".join(parts[:2]) or "0 min")


def figure_text(value: float | None, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "percent":
        return f"{value:.1f} %"
    if kind == "duration":
        return duration_text(value)
    if kind == "ratio":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def change_text(value: float | None, kind: str) -> str:
    """+3, −12.5 pp, +2 h: the sign always shown, "no change" for zero."""
    if value is None:
        return "—"
    if value == 0:
        return "no change"
    sign = "+" if value > 0 else "−"
    if kind == "percent":
        return f"{sign}{abs(value):.1f} pp"
    if kind == "duration":
        return f"{sign}{duration_text(abs(value))}"
    if kind == "ratio":
        return f"{sign}{abs(value):.2f}"
    return f"{sign}{abs(value):,.0f}"


# --- the incident sections, as the page, the PDF and the e-mail print them ------------------------------
BREAK_GLASS_REVIEW = {"reviewed": "Reviewed", "awaiting": "Awaiting review", "overdue": "Review overdue"}
INCIDENT_REVIEW = {"done": "Done", "due": "Due", "missing": "Missing"}
ATTENTION = "needs attention"


@dataclass
class SectionRow:
    """One row of an incident section: the request it is about, then its cells as text."""

    reference: str
    cells: list[str]
    attention: bool = False


@dataclass
class Section:
    key: str
    title: str
    caption: str
    empty: str
    columns: list[str]  # the first names the reference column
    rows: list[SectionRow] = field(default_factory=list)
    summary: str = ""


def _short(report: WeeklyReport, instant: datetime | None) -> str:
    return format_time(instant, "short", tz=report.timezone) if instant else "—"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def incident_sections(report: WeeklyReport) -> list[Section]:
    """The week's break-glass grants, hypercare windows and post-incident reviews as rows of text, in the report's
    timezone: the page, the PDF and the e-mail print exactly these, so they cannot disagree."""
    grants = Section(
        key="break-glass",
        title="Break-glass access",
        caption=f"Access taken without approval during P0 incidents in {report.week}",
        empty="No break-glass access was taken this week.",
        columns=["Request", "Vendor", "Who", "Where", "Taken", "Review due", "eGov DevOps review"],
    )
    for grant in report.break_glass:
        review = BREAK_GLASS_REVIEW[grant.review]
        if grant.review == "reviewed":
            review = f"Reviewed by {grant.reviewed_by}"
        if grant.attention:
            review = f"{review}, {ATTENTION}"
        where = f"{grant.system.capitalize()}: {grant.target}"
        cells = [grant.vendor, grant.subject, where, _short(report, grant.granted_at)]
        grants.rows.append(
            SectionRow(grant.reference, [*cells, _short(report, grant.review_due_at), review], grant.attention)
        )
    overdue = sum(grant.attention for grant in report.break_glass)
    grants.summary = _count(len(report.break_glass), "grant", "grants") + f", {overdue} overdue for review"

    windows = Section(
        key="hypercare",
        title="Hypercare windows",
        caption=f"Hypercare windows open in {report.week} and the production issues filed in them",
        empty="No hypercare window was open this week.",
        columns=["Release", "Type", "Vendor", "Environment", "Stack", "Window", "Issues", "Breached", "Issues filed"],
    )
    for window in report.hypercare:
        span = f"{_short(report, window.starts_at)} – {_short(report, window.ends_at)}"
        cells = [window.request_type, window.vendor, window.environment, window.stack or "—", span]
        cells += [str(window.issues), str(window.breached), " ".join(window.issue_references) or "—"]
        windows.rows.append(SectionRow(window.reference, cells))
    filed, breached = sum(w.issues for w in report.hypercare), sum(w.breached for w in report.hypercare)
    windows.summary = (
        f"{_count(len(report.hypercare), 'window', 'windows')}, {_count(filed, 'issue', 'issues')} filed, "
        f"{breached} breached"
    )

    reviews = Section(
        key="incident-reviews",
        title="Post-incident reviews",
        caption=f"P0 and P1 production issues resolved in {report.week} and their reviews",
        empty="No P0 or P1 production issue was resolved this week.",
        columns=["Incident", "Priority", "Vendor", "Environment", "Resolved", "Review", "Action items", "Open items"],
    )
    for incident in report.incident_reviews:
        status = INCIDENT_REVIEW[incident.review_status]
        if incident.attention:
            status = f"{status}, {ATTENTION}"
        cells = [incident.priority, incident.vendor, incident.environment, _short(report, incident.resolved_at), status]
        cells += [str(incident.action_items), str(incident.action_items_open)]
        reviews.rows.append(SectionRow(incident.reference, cells, incident.attention))
    by_status = {key: sum(i.review_status == key for i in report.incident_reviews) for key in INCIDENT_REVIEW}
    open_items = sum(i.action_items_open for i in report.incident_reviews)
    reviews.summary = (
        f"{_count(len(report.incident_reviews), 'incident', 'incidents')}: "
        + ", ".join(f"{by_status[key]} {label.lower()}" for key, label in INCIDENT_REVIEW.items())
        + f"; {_count(open_items, 'action item', 'action items')} open"
    )
    return [grants, windows, reviews]
