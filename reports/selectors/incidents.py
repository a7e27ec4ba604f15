"""The weekly report's incident sections: break-glass grants, hypercare windows and post-incident reviews.

Each is read for the report's scope like every other figure: the scope's filters on the request the row belongs to
(a vendor lead's scope is always their own vendor's requests). The page, the API, the CSV, the PDF and the e-mail
all show these lists; none of them looks at the incident tables itself."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q

from requests_app.choices import OPEN_STATES, RequestType
from sla import conditions
from sla.choices import Clock
from sla.models import RequestClock

from .queries import _period, _Scope
from .types import BreakGlassEntry, HypercareEntry, IncidentReviewEntry

# What places a hypercare window in a scope: its release's vendor and environment. A priority or type filter is
# about the production issues filed in the window, so it narrows the issues counted, not the windows listed.
WINDOW_FILTERS = ("vendor_id", "environment_id")


def _break_glass(scope: _Scope, start: datetime, end: datetime, now: datetime) -> list[BreakGlassEntry]:
    """Break-glass grants taken in [start, end) on the scope's requests, with their review's standing: reviewed,
    awaiting (still inside PORTICO_BREAK_GLASS_REVIEW_HOURS) or overdue, which needs attention."""
    from provisioning.models import AccessGrant

    grants = (
        AccessGrant.objects.filter(scope.related(), _period("granted_at", start, end), break_glass=True)
        .select_related("service_request__vendor", "reviewed_by")
        .order_by("granted_at", "pk")
    )
    review_within = timedelta(hours=settings.PORTICO_BREAK_GLASS_REVIEW_HOURS)
    entries = []
    for grant in grants:
        due = grant.granted_at + review_within
        review = "reviewed" if grant.reviewed_at is not None else ("overdue" if due <= now else "awaiting")
        entries.append(
            BreakGlassEntry(
                reference=grant.service_request.reference or "",
                vendor=str(grant.service_request.vendor or ""),
                subject=grant.subject,
                system=grant.system,
                target=grant.target,
                granted_at=grant.granted_at,
                expires_at=grant.expires_at,
                review=review,
                reviewed_by=grant.reviewed_by.username if grant.reviewed_by else "",
                review_due_at=due,
                reviewed_at=grant.reviewed_at,
                attention=review == "overdue",
            )
        )
    return entries


def _hypercare(scope: _Scope, start: datetime, end: datetime, now: datetime) -> list[HypercareEntry]:
    """Hypercare windows open at some time in [start, end) whose release is in the scope, each with the production
    issues linked to it that were filed by the end of the week and are in the scope; "breached" counts those
    with an SLA clock that fell due by then (or now, for the current week) and was missed: met or ended late, or
    still running."""
    from incidents.hypercare_models import HypercareIssue, HypercareWindow

    where = {name: value for name, value in scope.filters.items() if name in WINDOW_FILTERS}
    windows = list(
        HypercareWindow.objects.filter(
            Q(**{f"service_request__{name}": value for name, value in where.items()}),
            starts_at__lt=end,
            ends_at__gt=start,
        )
        .select_related("service_request__vendor", "environment", "stack")
        .order_by("starts_at", "pk")
    )
    cutoff = min(end, now)
    missed = RequestClock.objects.filter(
        conditions.breached(now), service_request=OuterRef("service_request"), clock=Clock.SLA, due_at__lt=cutoff
    )
    links = (
        HypercareIssue.objects.filter(
            scope.related(), window__in=[w.pk for w in windows], service_request__created_at__lt=end
        )
        .annotate(missed=Exists(missed))
        .order_by("service_request__created_at", "pk")
        .values_list("window_id", "service_request__reference", "missed")
    )
    issues: dict[int, list[tuple[str, bool]]] = {w.pk: [] for w in windows}
    for window_id, reference, was_missed in links:
        issues[window_id].append((reference or "", was_missed))
    return [
        HypercareEntry(
            reference=window.service_request.reference or "",
            title=window.service_request.title,
            request_type=window.service_request.get_request_type_display(),
            vendor=str(window.service_request.vendor or ""),
            environment=window.environment.name,
            stack=window.stack.name if window.stack else "",
            starts_at=window.starts_at,
            ends_at=window.ends_at,
            issues=len(issues[window.pk]),
            breached=sum(1 for _, was_missed in issues[window.pk] if was_missed),
            issue_references=[reference for reference, _ in issues[window.pk]],
        )
        for window in windows
    ]


def _incident_reviews(scope: _Scope, start: datetime, end: datetime) -> list[IncidentReviewEntry]:
    """P0/P1 production issues of the scope resolved in [start, end) (by `resolved_at`, as the "Resolved" count),
    with their review: done (published), due (a draft) or missing (none); and their action items, all and still
    open (the follow-up not yet resolved, closed, rejected or cancelled)."""
    from incidents.review_models import ReviewStatus
    from incidents.reviews import REVIEWED_PRIORITIES

    # Plain values, not requests: a week has a few hundred of them on 1,000,000 requests, and building each as a model
    # (its state machine included) cost more than the query (~45 of ~60 ms).
    rows = (
        scope.requests.filter(
            _period("resolved_at", start, end),
            request_type=RequestType.PRODUCTION_ISSUE,
            priority__in=REVIEWED_PRIORITIES,
        )
        .order_by("resolved_at", "pk")
        .values(
            "pk",
            "reference",
            "title",
            "priority",
            "resolved_at",
            vendor_name=F("vendor__name"),
            environment_name=F("environment__name"),
            review_status=F("incident_review__status"),
        )
        .annotate(
            items=Count("incident_review__action_items"),
            items_open=Count(
                "incident_review__action_items",
                filter=Q(incident_review__action_items__follow_up__state__in=OPEN_STATES),
            ),
        )
    )
    entries = []
    for row in rows:
        review = row["review_status"]
        status = "missing" if review is None else ("done" if review == ReviewStatus.PUBLISHED else "due")
        entries.append(
            IncidentReviewEntry(
                reference=row["reference"] or "",
                title=row["title"],
                vendor=row["vendor_name"] or "",
                environment=row["environment_name"],
                priority=row["priority"],
                resolved_at=row["resolved_at"],
                review_status=status,
                action_items=row["items"],
                action_items_open=row["items_open"],
                attention=status == "missing",
            )
        )
    return entries
