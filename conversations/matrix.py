"""The notification matrix: for every notice, who hears it by default. The one place this is decided.

A notice is an event kind, or one derived from it (`approval_requested`: a triage that sent the request to eGov
DevOps for approval). The README's table is rendered from `MATRIX` (`manage.py notification_matrix --write`), and a
test fails when the two differ. Whoever an audience names is then filtered (`recipients.py`): the actor is never
told of their own act, muted requests and switched-off channels are skipped, and nobody hears of a request or
an internal note that `visible_to` hides from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models

from requests_app.choices import EventKind, RequestState


class Audience(models.TextChoices):
    REQUESTER = "requester", "Requester"
    TEAM = "team", "Requester's team"
    WATCHERS = "watchers", "Watchers"
    ASSIGNEE = "assignee", "Assignee (vendor leads while unassigned)"
    VENDOR = "vendor", "Vendor engineers"
    VENDOR_LEADS = "vendor_leads", "Vendor leads"
    PROGRAM_MANAGER = "program_manager", "Program manager"
    EGOV_DEVOPS = "egov_devops", "eGov DevOps"


APPROVAL_REQUESTED = "approval_requested"
TYPE_CHANGED = "type_changed"
# Derived notices and the event kind each is told from.
DERIVED = {APPROVAL_REQUESTED: EventKind.TRIAGE, TYPE_CHANGED: EventKind.UPDATED}

R, T, W, A = Audience.REQUESTER, Audience.TEAM, Audience.WATCHERS, Audience.ASSIGNEE
V, L, PM, EG = Audience.VENDOR, Audience.VENDOR_LEADS, Audience.PROGRAM_MANAGER, Audience.EGOV_DEVOPS


@dataclass(frozen=True)
class Row:
    label: str
    subject: str  # formatted with ref, title, vendor, assignee, actor
    audiences: frozenset[Audience]
    chat: bool = False  # also posted to the vendor's and environment's chat channels
    chat_priorities: frozenset[str] = frozenset()  # ...or only for these priorities

    def goes_to_chat(self, priority: str) -> bool:
        return self.chat or priority in self.chat_priorities


def _row(
    label: str, subject: str, *audiences: Audience, chat: bool = False, chat_priorities: frozenset[str] = frozenset()
) -> Row:
    return Row(label=label, subject=subject, audiences=frozenset(audiences), chat=chat, chat_priorities=chat_priorities)


MATRIX: dict[str, Row] = {
    EventKind.FILED: _row("Filed", "{ref} filed: {title}", T, PM, chat_priorities=frozenset({"P0", "P1"})),
    EventKind.TRIAGE: _row("Triaged to a vendor", "{ref} triaged to {vendor}", R, T, W, V, L),
    APPROVAL_REQUESTED: _row("Triaged, awaiting approval", "{ref} awaits your approval: {title}", R, W, EG, chat=True),
    EventKind.APPROVE: _row("Approved", "{ref} approved", R, T, W, V, L, PM),
    EventKind.DENY: _row("Denied", "{ref} denied by eGov DevOps", R, T, W, PM),
    EventKind.PICK_UP: _row("Picked up", "{ref} picked up by {assignee}", R, W),
    EventKind.REASSIGN: _row("Reassigned", "{ref} reassigned to {assignee}", R, W, A, L),
    EventKind.COMMENT: _row("Comment", "{ref}: new comment from {actor}", R, W, A),
    EventKind.JIRA_COMMENT: _row("Comment from Jira", "{ref}: new comment from Jira", R, W, A),
    EventKind.REQUEST_INFO: _row("Information requested", "{ref}: the vendor needs information from you", R, T, W),
    EventKind.PROVIDE_INFO: _row("Information provided", "{ref}: the requester answered", W, A),
    EventKind.ESCALATE: _row("Escalated", "{ref} escalated: blocked", W, L, PM, EG, chat=True),
    EventKind.UNBLOCK: _row("Unblocked", "{ref} unblocked", W, A),
    EventKind.PRIORITY_CHANGED: _row("Priority changed", "{ref}: priority changed", R, W, A, L),
    TYPE_CHANGED: _row("Type changed", "{ref}: request type changed", R, W, A, L),
    EventKind.RESOLVE: _row("Resolved", "{ref} resolved — please confirm", R, T, W),
    EventKind.CONFIRM: _row("Confirmed", "{ref} confirmed by the requester", W, A, L),
    EventKind.REOPEN: _row("Reopened", "{ref} reopened", W, A, L),
    EventKind.REJECT: _row("Rejected", "{ref} rejected", R, T, W),
    EventKind.CANCEL: _row("Cancelled", "{ref} cancelled by the requester", W, A, L),
    EventKind.AUTO_CLOSE: _row("Closed automatically", "{ref} closed automatically", R, A),
    EventKind.SLA_AT_RISK: _row("SLA at risk", "{ref} at risk: {title}", A, L),
    EventKind.SLA_BREACHED: _row("SLA breached", "{ref} breached its SLA: {title}", A, L, PM, EG, chat=True),
    EventKind.PROVISIONING_SUCCEEDED: _row("Automation succeeded", "{ref}: automation succeeded", R, W, A),
    EventKind.PROVISIONING_FAILED: _row("Automation failed", "{ref}: automation failed", W, A, PM, EG),
    EventKind.ACCESS_GRANTED: _row("Access granted", "{ref}: access granted", R, W),
    EventKind.ACCESS_REVOKED: _row("Access revoked", "{ref}: access revoked", R, W),
    EventKind.ACCESS_REVOKE_FAILED: _row("Access revoke failed", "{ref}: access could not be revoked", PM, EG),
    EventKind.JIRA_CONFLICT: _row("Jira conflict", "{ref}: Jira and the portal disagree", PM),
    EventKind.JIRA_SYNC_FAILED: _row("Jira sync failed", "{ref}: could not mirror to Jira", PM),
}
# Events nobody is told about: bookkeeping, or progress the requester follows on the request's page (an edit of
# the title or description is `updated`, told only when it changes the type).
SILENT = frozenset(
    {
        EventKind.SLA_RECOMPUTED,
        EventKind.PROVISIONING_STARTED,
        EventKind.PROVISIONING_RESUMED,
        EventKind.PROVISIONING_CANCELLED,
    }
)
# The vendor hears nothing while eGov DevOps has not approved the work.
VENDOR_AUDIENCES = frozenset({V, L, A})
SILENT_STATES_FOR_VENDOR = frozenset({RequestState.SUBMITTED, RequestState.PENDING_APPROVAL})


def notice_of(kind: str, *, to_state: str = "", payload: dict | None = None) -> str | None:
    """The matrix row an event is told under, or None when nobody is told."""
    if kind == EventKind.TRIAGE and to_state == RequestState.PENDING_APPROVAL:
        return APPROVAL_REQUESTED
    if kind == EventKind.UPDATED and "request_type" in (payload or {}).get("changes", {}):
        return TYPE_CHANGED
    return kind if kind in MATRIX else None


def notice_for(event: Any) -> str | None:
    """`notice_of` for a timeline event."""
    return notice_of(event.kind, to_state=event.to_state, payload=event.payload)


def kinds_heard(notices: Any) -> list[str]:
    """The event kinds to register a handler for, so that these notices reach it."""
    return sorted({str(DERIVED.get(notice, notice)) for notice in notices})


def matrix_table() -> str:
    """The matrix as the README's Markdown table."""
    audiences = list(Audience)
    header = "| Notice | " + " | ".join(a.label for a in audiences) + " | Chat |"
    lines = [header, "|" + " --- |" * (len(audiences) + 2)]
    for row in MATRIX.values():
        cells = ["✓" if a in row.audiences else "" for a in audiences]
        lines.append(f"| {row.label} | " + " | ".join(cells) + f" | {_chat_cell(row)} |")
    return "\n".join(lines)


def _chat_cell(row: Row) -> str:
    if row.chat:
        return "✓"
    return "/".join(sorted(row.chat_priorities))
