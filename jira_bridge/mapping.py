"""How the portal's words translate to Jira's and back: statuses, priorities and issue types, in one place.

Outbound, a portal state is mirrored as a Jira status and a P0–P4 priority as a Jira priority name. Inbound, a
Jira status names the workflow transitions that may follow it, and Jira's priority names (either scheme) map back
to P0–P4. Issue types are declared on each request type in the catalogue (`jira_issue_types`); this module
re-exports the lookup so every Jira mapping is found from here.
"""

from __future__ import annotations

from requests_app.catalogue import type_for_jira_issue
from requests_app.choices import Priority, RequestState

__all__ = [
    "PRIORITY_FROM_JIRA",
    "PRIORITY_NAMES",
    "STATUS_FOR_STATE",
    "TRANSITIONS_FOR_STATUS",
    "VERBS",
    "jira_status_for",
    "type_for_jira_issue",
]

S = RequestState
# Portal state -> Jira status name. States missing here (submitted, pending_approval) have no Jira status.
STATUS_FOR_STATE: dict[str, str] = {
    S.QUEUED: "To Do",
    S.IN_PROGRESS: "In Progress",
    S.WAITING_ON_REQUESTER: "Waiting for customer",
    S.BLOCKED: "Blocked",
    S.RESOLVED: "Done",
    S.CLOSED: "Done",
    S.REJECTED: "Won't Do",
    S.CANCELLED: "Won't Do",
}
PRIORITY_NAMES: dict[str, str] = {
    Priority.P0: "Highest",
    Priority.P1: "High",
    Priority.P2: "Medium",
    Priority.P3: "Low",
    Priority.P4: "Lowest",
}
# Jira priority (lower case, the default scheme or the older Blocker…Trivial one) -> portal priority.
PRIORITY_FROM_JIRA: dict[str, str] = {name.lower(): code for code, name in PRIORITY_NAMES.items()} | {
    "blocker": Priority.P0,
    "critical": Priority.P1,
    "major": Priority.P2,
    "minor": Priority.P3,
    "trivial": Priority.P4,
}
# Jira status (lower case) -> portal transitions that may follow it, tried in order; the first the workflow
# allows now runs. Anything else is a conflict for the program manager.
TRANSITIONS_FOR_STATUS: dict[str, tuple[str, ...]] = {
    "to do": ("reopen", "unblock"),
    "in progress": ("pick_up", "provide_info", "unblock", "reopen"),
    "waiting for customer": ("request_info",),
    "blocked": ("escalate",),
    "done": ("resolve",),
    "resolved": ("resolve",),
    "won't do": ("reject",),
}
# How each of those transitions reads on the timeline when Jira caused it.
VERBS: dict[str, str] = {
    "reopen": "Reopened",
    "unblock": "Unblocked",
    "pick_up": "Picked up",
    "provide_info": "Information provided",
    "request_info": "Waiting for the requester",
    "escalate": "Blocked",
    "resolve": "Resolved",
    "reject": "Won't do",
}


def jira_status_for(state: str) -> str | None:
    """The Jira status a portal state is mirrored as, or None when it has none."""
    return STATUS_FOR_STATE.get(state)


# A portal link (its stored kind) as Jira's outward description of an issue link type: the client finds the
# server's type by it ("causes" is the default Problem/Incident type, "relates to" Relates; a parent/child type
# is one the project defines). A server without the type refuses, and the push is noted as skipped.
JIRA_LINK_RELATIONS = {"parent": "is parent of", "causes": "causes", "relates": "relates to"}
