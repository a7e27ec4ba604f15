"""Incidents' reaction to timeline events: an urgent production issue that gets a vendor pages its on call."""

from __future__ import annotations

from portal.events import registry
from requests_app.choices import EventKind

from .paging import on_request_event

# The moments a request may first be owed pages: filed already routed, triaged, moved, raised to P0/P1, approved.
PAGING_KINDS = [
    EventKind.FILED,
    EventKind.TRIAGE,
    EventKind.REASSIGN,
    EventKind.PRIORITY_CHANGED,
    EventKind.APPROVE,
    EventKind.UPDATED,
]

registry.add("incidents: page the on call of urgent production issues", on_request_event, kinds=PAGING_KINDS)
