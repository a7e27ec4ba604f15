"""The program manager's live dashboard."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from portal.replica import on_replica
from requests_app.choices import OPEN_STATES, Priority
from sla.selectors import requests_in_state_group, requests_with_sla_status

from ..periods import local_midnight, timezone_parse, week_containing
from .queries import (
    _scope,
    report_snapshot,
)
from .types import (
    Dashboard,
)
from .weekly import (
    _labels,
    _order,
    report_weekly,
)

if TYPE_CHECKING:
    from portal.models import User


@on_replica  # outermost: the snapshot's transaction opens on the copy it chose
@report_snapshot
def report_dashboard(*, user: User | None, now: datetime | None = None, tz: str | None = None) -> Dashboard:
    """Open work by state, priority and vendor; backlog; SLA at risk and breached, still open; today's intake; this
    week so far. Each live figure is the row count of the list filter its tile links to (`sla.selectors`'
    `requests_in_state_group` and `requests_with_sla_status`), over the same `visible_to` scope."""
    tz = timezone_parse(tz or settings.PORTICO_REPORT_TIMEZONE)
    now = now or timezone.now()
    week = report_weekly(user=user, week=week_containing(now, tz=tz).label, tz=tz, now=now)
    scope = _scope(user, vendor=None, environment=None, priority=None, request_type=None)
    rows = list(scope.requests.open().order_by().values("state", "priority", "vendor_id").annotate(n=Count("pk")))
    by_state: Counter[str] = Counter()
    by_priority: Counter[str] = Counter()
    by_vendor: Counter[int | None] = Counter()
    for row in rows:  # groups of (state, priority, vendor), not requests
        by_state[row["state"]] += row["n"]
        by_priority[row["priority"]] += row["n"]
        by_vendor[row["vendor_id"]] += row["n"]
    requests = scope.requests.order_by()
    today_from = local_midnight(now, tz=tz)
    labels = _labels()["vendor"]
    return Dashboard(
        now=now,
        open_total=sum(by_state.values()),
        open_by_state={state: by_state.get(state, 0) for state in OPEN_STATES},
        open_by_priority={priority: by_priority.get(priority, 0) for priority in Priority.values},
        open_by_vendor=[(*labels.get(k, ("", str(k))), by_vendor[k]) for k in _order("vendor", by_vendor, labels)],
        at_risk=requests_with_sla_status(requests, "at_risk_open", now).count(),
        breached=requests_with_sla_status(requests, "breached_open", now).count(),
        backlog=requests_in_state_group(requests, "backlog", now).count(),
        today_intake=scope.requests.filter(created_at__gte=today_from, created_at__lte=now).count(),
        today_from=today_from,
        week=week,
    )
