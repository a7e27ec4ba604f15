"""The report's figures as dataclasses, and the constants every part of it shares."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from requests_app.choices import OPEN_STATES, EventKind, RequestState

DIMENSIONS = ("vendor", "environment", "priority", "request_type")
DIMENSION_LABELS = {"vendor": "Vendor", "environment": "Environment", "priority": "Priority", "request_type": "Type"}
# The grouping key of each dimension in every grouped query, and the request field it reads.
KEYS = {"vendor": "k_vendor", "environment": "k_environment", "priority": "k_priority", "request_type": "k_type"}
REQUEST_FIELDS = {
    "vendor": "vendor_id",
    "environment": "environment_id",
    "priority": "priority",
    "request_type": "request_type",
}
AGE_BUCKETS = (("lt_1d", "< 1 day", 1), ("1_3d", "1–3 days", 3), ("3_7d", "3–7 days", 7), ("1_2w", "1–2 weeks", 14))
AGE_OVER = ("gt_2w", "> 2 weeks")
AGE_LABELS = dict([(key, label) for key, label, _ in AGE_BUCKETS] + [AGE_OVER])
BACKLOG_STATES = tuple(str(state) for state in (*OPEN_STATES, RequestState.RESOLVED))
TRACTION_WEEKS = 8
BREACH_LIST_LIMIT = 1000
NO_VENDOR = "No vendor yet"
# Only what explains a delay: an escalation (what blocks the work) or a question to the requester. A comment such
# as "Any update on this?" is not a reason.
REASON_KINDS = (EventKind.ESCALATE, EventKind.REQUEST_INFO)
PERCENTILES = {
    "pick_up_wall": ("responded_at", "wall"),
    "pick_up_working": ("responded_at", "working"),
    "resolve_wall": ("resolved_at", "wall"),
    "resolve_working": ("resolved_at", "working"),
}
FRACTIONS = {"p50": 0.5, "p90": 0.9}


@dataclass
class Figures:
    """The figures of one slice (the whole scope, or one vendor, environment, priority or type) for one week."""

    created: int = 0
    triaged: int = 0
    resolved: int = 0
    closed: int = 0
    rejected: int = 0
    cancelled: int = 0
    reopened: int = 0
    sla_response_met: int = 0
    sla_response_breached: int = 0
    sla_response_compliance: float | None = None
    sla_resolution_met: int = 0
    sla_resolution_breached: int = 0
    sla_resolution_compliance: float | None = None
    ola_met: int = 0
    ola_breached: int = 0
    ola_compliance: float | None = None
    # Durations in seconds.
    pick_up_wall_p50: float | None = None
    pick_up_wall_p90: float | None = None
    pick_up_working_p50: float | None = None
    pick_up_working_p90: float | None = None
    resolve_wall_p50: float | None = None
    resolve_wall_p90: float | None = None
    resolve_working_p50: float | None = None
    resolve_working_p90: float | None = None
    backlog: int = 0
    open_per_engineer: float | None = None
    # Satisfaction: ratings given when confirming (rated_at) in the week; the average of 1–5, None with no rating.
    csat_count: int = 0
    csat_average: float | None = None


FIGURES = tuple(f.name for f in fields(Figures))
FLOW_COUNTS = ("created", "triaged", "resolved", "closed", "rejected", "cancelled", "reopened")
RATING_SUMS = ("csat_count", "csat_sum")
CLOCK_COUNTS = (
    "sla_response_met",
    "sla_response_breached",
    "sla_resolution_met",
    "sla_resolution_breached",
    "ola_met",
    "ola_breached",
)


@dataclass
class Slice:
    """One row of a breakdown: a dimension value, its figures and its backlog by age and by state."""

    key: str
    label: str
    figures: Figures
    backlog_by_age: dict[str, int]
    backlog_by_state: dict[str, int]


@dataclass
class TractionWeek:
    week: str
    created: int
    resolved: int


@dataclass
class ComplianceWeek:
    week: str
    sla_response_compliance: float | None
    sla_resolution_compliance: float | None
    ola_compliance: float | None


@dataclass
class Breach:
    reference: str
    title: str
    vendor: str
    priority: str
    measure: str
    due_at: datetime
    settled_at: datetime | None
    late_seconds: float
    reason: str
    extended: bool = False  # the program manager extended this clock's due time (the due shown is the extended one)
    # The clock's id: a stored week re-reads when its still-unsettled breaches were met or ended (reports/stored.py).
    clock_id: int = field(default=0, repr=False)


@dataclass
class BreakGlassEntry:
    """One break-glass grant taken in the week, and where its eGov DevOps review stands."""

    reference: str
    vendor: str
    subject: str
    system: str
    target: str
    granted_at: datetime
    expires_at: datetime
    review: str  # "reviewed", "awaiting" or "overdue"
    reviewed_by: str
    review_due_at: datetime | None = None
    reviewed_at: datetime | None = None
    attention: bool = False  # overdue for review: shown as needing attention everywhere the report goes


@dataclass
class HypercareEntry:
    """One hypercare window open at some time in the week, and the production issues filed in it."""

    reference: str  # the release or deployment support request that opened it
    title: str
    request_type: str
    vendor: str
    environment: str
    stack: str
    starts_at: datetime
    ends_at: datetime
    issues: int  # linked issues filed by the end of the week
    breached: int  # of those, how many missed an SLA clock that fell due by then
    issue_references: list[str] = field(default_factory=list)


@dataclass
class IncidentReviewEntry:
    """One P0/P1 production issue resolved in the week, and where its post-incident review stands."""

    reference: str
    title: str
    vendor: str
    environment: str
    priority: str
    resolved_at: datetime
    review_status: str  # "done" (published), "due" (a draft) or "missing" (none)
    action_items: int
    action_items_open: int  # follow-ups not yet resolved, closed, rejected or cancelled
    attention: bool = False  # no review at all: needs attention


@dataclass
class WeeklyReport:
    """Everything the page, the API, the CSV, the PDF and the e-mail show for one week."""

    week: str
    previous_week: str
    timezone: str
    start: datetime
    end: datetime
    backlog_at: datetime
    generated_at: datetime
    filters: dict[str, str]
    summary: Figures
    previous: Figures
    change: dict[str, float | None]
    backlog_by_age: dict[str, int]
    backlog_by_state: dict[str, int]
    breakdowns: dict[str, list[Slice]]
    traction: list[TractionWeek]
    compliance_trend: list[ComplianceWeek]
    breaches: list[Breach]
    breaches_total: int
    engineers: int = 0
    break_glass: list[BreakGlassEntry] = field(default_factory=list)
    hypercare: list[HypercareEntry] = field(default_factory=list)
    incident_reviews: list[IncidentReviewEntry] = field(default_factory=list)


@dataclass
class Dashboard:
    """The live counts on the program manager's dashboard."""

    now: datetime
    open_total: int
    open_by_state: dict[str, int]
    open_by_priority: dict[str, int]
    open_by_vendor: list[tuple[str, str, int]]
    at_risk: int  # SLA at risk, still open
    breached: int  # SLA breached, still open
    today_intake: int
    week: WeeklyReport
    backlog: int = 0  # open, or resolved and awaiting confirmation (the weekly report's backlog, at now)
    today_from: datetime | None = None  # the local midnight "filed today" counts from
