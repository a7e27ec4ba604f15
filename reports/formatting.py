"""How report figures read to people (page, PDF, e-mail); the API and CSV keep the raw numbers."""

from __future__ import annotations

from .selectors import AGE_LABELS, DIMENSION_LABELS  # noqa: F401  (re-exported for templates and the PDF)

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
