"""What the reports app keeps as requests change: the stored weeks restaled, the state spans re-derived."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Min, Q
from django.db.models.signals import post_delete
from django.dispatch import receiver

from portal.events import registry
from requests_app.choices import EventKind, RequestState
from requests_app.models import ServiceRequest
from sla.models import RequestClock

from .spans import state_spans_sync
from .stored import report_weeks_restale

# Kinds that change no figure of the report, whenever they happen: a comment moves no state, and the scan's at-risk
# and breach flags (`*_flagged_at`) are not what the report counts (it reads the clocks' own due, met and breached
# fields). Not heard at all.
QUIET_KINDS = frozenset({EventKind.COMMENT, EventKind.JIRA_COMMENT, EventKind.SLA_AT_RISK, EventKind.SLA_BREACHED})

# Kinds that can move a finished week's figures whenever they happen (reports/stored.py says why): they restale
# every stored week since the request was filed. A triage sets the vendor (and may change priority and type), a
# priority change and a re-applied policy or calendar (`sla_recomputed`) or an extension re-judge the clocks, and a
# reopen takes back a resolution (and a closing) of an earlier week.
FROM_FILING_KINDS = frozenset(
    {
        EventKind.TRIAGE,
        EventKind.PRIORITY_CHANGED,
        EventKind.REOPEN,
        EventKind.SLA_RECOMPUTED,
        EventKind.SLA_EXTENDED,
    }
)

# Kinds that move only the weeks from their own time on (every other figure of a finished week is read as of its
# end, or re-read when the copy is served), unless the event says otherwise (`restale_since`). A kind not listed in
# any of these three sets — one added later — restales from the filing, to be safe.
AT_EVENT_KINDS = frozenset(
    {
        EventKind.FILED,
        EventKind.UPDATED,
        EventKind.APPROVE,
        EventKind.DENY,
        EventKind.PICK_UP,
        EventKind.REASSIGN,
        EventKind.REQUEST_INFO,
        EventKind.PROVIDE_INFO,
        EventKind.ESCALATE,
        EventKind.UNBLOCK,
        EventKind.RESOLVE,
        EventKind.CONFIRM,
        EventKind.REJECT,
        EventKind.CANCEL,
        EventKind.AUTO_CLOSE,
        EventKind.JIRA_CONFLICT,
        EventKind.JIRA_SYNC_FAILED,
        EventKind.PROVISIONING_STARTED,
        EventKind.PROVISIONING_SUCCEEDED,
        EventKind.PROVISIONING_FAILED,
        EventKind.PROVISIONING_RESUMED,
        EventKind.PROVISIONING_CANCELLED,
        EventKind.ACCESS_GRANTED,
        EventKind.ACCESS_REVOKED,
        EventKind.ACCESS_REVOKE_FAILED,
        EventKind.ATTACHMENT_ADDED,
        EventKind.LINK_ADDED,
        EventKind.LINK_REMOVED,
        EventKind.PAGED,
        EventKind.PAGE_ESCALATED,
        EventKind.PAGE_ACKNOWLEDGED,
        EventKind.BREAK_GLASS,
        EventKind.BREAK_GLASS_REVIEWED,
    }
)

# An edit of only these fields changes nothing a week shows (the breach list shows the title; needed-by moves due
# times; priority and type group the figures).
UNSHOWN_FIELDS = frozenset({"description", "stack", "affects_production", "parameters"})

# The states whose entry pauses, and whose exit resumes, the clocks (when the request's policy pauses for them).
HOLDS = frozenset({RequestState.WAITING_ON_REQUESTER, RequestState.BLOCKED})

# A transition stamps the request (resolved_at, closed_at, …) a moment before its event is written: a week that
# ended in between is still one the change counts in.
SETTLE = timedelta(minutes=1)


def _held_due(service_request_id: int, at: datetime) -> datetime | None:
    """The earliest due time, before `at`, of a clock a pause or resume at `at` moves in or out of the breached
    count of the week it fell due: one running past due (a pause stops it counting), or paused after it fell due
    (a resume, or stopping or ending it, makes it count again). A clock paused before its due time is not counted
    either way (its due time moves on with the pause). Read in the event's handler, which runs before the step's
    clock events are written (requests_app/services/workflow.py `request_transition`)."""
    clocks = RequestClock.objects.filter(
        service_request_id=service_request_id, met_at__isnull=True, ended_at__isnull=True, due_at__lt=at
    ).filter(Q(paused_since__isnull=True) | Q(due_at__lte=F("paused_since")))
    return clocks.aggregate(due=Min("due_at"))["due"]


def restale_since(event: Any) -> datetime:
    """From when a change can have moved the stored weeks: the request's filing for a change to what a finished
    week reads as it is now (its grouping, its clocks' judgement, an earlier resolution or rating), else the event's
    own time (less `SETTLE`), or the due time of a clock a pause or resume moves."""
    service_request = event.service_request
    filed = service_request.created_at
    kind = event.kind
    since = event.created_at - SETTLE
    if kind not in AT_EVENT_KINDS:
        return min(since, filed)
    payload = event.payload or {}
    if kind == EventKind.FILED:
        return min(since, filed)
    if kind == EventKind.REASSIGN:
        vendor = payload.get("vendor") or {}
        if vendor.get("from") != vendor.get("to"):
            return min(since, filed)
    if kind == EventKind.UPDATED and set(payload.get("changes") or {}) - UNSHOWN_FIELDS:
        return min(since, filed)
    if kind == EventKind.CONFIRM and service_request.reopen_count:
        return min(since, filed)  # confirmed again after a reopen: its earlier rating (another week's) is replaced
    if event.from_state in HOLDS or event.to_state in HOLDS:
        due = _held_due(service_request.pk, event.created_at)
        if due is not None:
            return min(since, due)
    return since


@registry.register(
    "reports: restale the stored weeks a changed request counts in",
    kinds=[kind for kind in EventKind.values if kind not in QUIET_KINDS],
)
def stored_weeks_restale(event: Any) -> None:
    report_weeks_restale(since=restale_since(event))


@receiver(post_delete, sender=ServiceRequest, dispatch_uid="reports-stored-weeks-deleted-request")
def stored_weeks_restale_deleted(sender: type, instance: ServiceRequest, **kwargs: Any) -> None:
    """A deleted request leaves no timeline event behind; its weeks are recomputed all the same."""
    report_weeks_restale(since=instance.created_at)


# Every kind, not a list of transitions: whatever event carries a state change moves the spans, including kinds
# added later.
@registry.register("reports: keep the request's state spans")
def state_spans_keep(event: Any) -> None:
    if event.to_state:
        state_spans_sync(service_request_id=event.service_request_id)
