"""The weekly SLA report and the live dashboard: every figure is aggregated in the database.

How each figure is counted (the report page repeats this in plain words):

- Scope: requests `visible_to(user)` matching the filters (the request's current vendor, environment, priority
  and type). Vendor leads are held to their own vendor; requesters and vendor engineers get no report (403).
- Flow counts for the week come from the request's own timestamps: created (`created_at`), triaged
  (`triaged_at`), resolved (`resolved_at`: a resolution that was reopened and not yet re-resolved no longer
  counts), closed / rejected / cancelled (`closed_at` with that final state). Reopened counts requests with a
  `reopen` event in the week.
- Clocks (SLA: the organisation; OLA: the vendor whose clock it is): a clock is *met* in the week its `met_at`
  falls in, if it was not breached; it is *breached* in the week it fell due: `due_at` in the week (and already
  past), and either flagged `breached` (met late, or ended after its due time) or still running (not met, not
  ended, not paused). Each clock is therefore counted once. Compliance = met ÷ (met + breached).
- Time to pick up / resolve: requests picked up (`responded_at`) / resolved (`resolved_at`) in the week; wall
  time from `created_at`, working time = `elapsed` of the met SLA clock. Median and p90 are `percentile_cont`.
- Backlog at the end of the week (or now, for the current week): created before that instant and not closed,
  rejected or cancelled by it — so "resolved, awaiting confirmation" is still backlog. For the current week, the
  requests not closed now, in their current state (the lists' `state_group=backlog`). For a finished week, as of
  its end: each request in the state its timeline gives it then (its state span, reports/spans.py), counted when
  that state is open or resolved — so a request closed by then and reopened since is not counted, and work done
  since moves nothing (reports/stored.py).
- Bandwidth: backlog with a vendor ÷ that vendor's active engineers (`vendor_role` engineer).
- Breaches: the SLA clocks breached in the week (as above), latest first by lateness; late by = (met, ended or
  now) − due. Reason: the latest escalation or information request written on the request up to the
  due time, or "—".
- The previous week (the headline's change) and the trends' earlier weeks: counted the same way, or read from the
  previous week's stored copy when it is current (reports/stored.py), which holds exactly those figures.
- Incident sections (`incidents.py`): break-glass grants taken in the week and their review (overdue after
  PORTICO_BREAK_GLASS_REVIEW_HOURS); hypercare windows open in the week whose release is in the scope's vendor and
  environment, with their in-scope issues filed by the week's end and how many missed an SLA clock due by then;
  P0/P1 production issues resolved in the week with their review (done, due, missing) and open action items.
"""

from .dashboard import report_dashboard
from .types import (
    AGE_LABELS,
    BACKLOG_STATES,
    DIMENSION_LABELS,
    DIMENSIONS,
    FIGURES,
    Breach,
    BreakGlassEntry,
    ComplianceWeek,
    Dashboard,
    Figures,
    HypercareEntry,
    IncidentReviewEntry,
    Slice,
    TractionWeek,
    WeeklyReport,
)
from .weekly import report_week_default, report_weekly

__all__ = [
    "AGE_LABELS",
    "BACKLOG_STATES",
    "DIMENSIONS",
    "DIMENSION_LABELS",
    "FIGURES",
    "Breach",
    "BreakGlassEntry",
    "ComplianceWeek",
    "Dashboard",
    "Figures",
    "HypercareEntry",
    "IncidentReviewEntry",
    "Slice",
    "TractionWeek",
    "WeeklyReport",
    "report_dashboard",
    "report_week_default",
    "report_weekly",
]
