"""What the reports app keeps as requests change: the stored weeks restaled, the state spans re-derived."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver

from portal.events import registry
from requests_app.choices import EventKind
from requests_app.models import ServiceRequest

from .spans import state_spans_sync
from .stored import report_weeks_restale

# Kinds that change no figure of the report: a comment moves no state, and the scan's at-risk and breach flags
# (`*_flagged_at`) are not what the report counts (it reads the clocks' own due, met and breached fields). Every
# other kind restales: a request's figures move with its transitions, clocks (extensions, re-judged policies and
# calendars are all recorded on the timeline), ratings and edits alike, and a kind added later is heard by default.
QUIET_KINDS = frozenset({EventKind.COMMENT, EventKind.JIRA_COMMENT, EventKind.SLA_AT_RISK, EventKind.SLA_BREACHED})


# Nothing of a request is counted before it was created: the weeks ending after that are the ones it can move.
@registry.register(
    "reports: restale the stored weeks a changed request counts in",
    kinds=[kind for kind in EventKind.values if kind not in QUIET_KINDS],
)
def stored_weeks_restale(event: Any) -> None:
    report_weeks_restale(since=event.service_request.created_at)


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
