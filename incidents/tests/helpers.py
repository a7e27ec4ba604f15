"""What the paging and break-glass tests share: the instant they run at and an urgent production issue."""

from __future__ import annotations

from datetime import UTC, datetime

from requests_app import services
from requests_app.choices import Priority, RequestType
from requests_app.models import ServiceRequest
from requests_app.testing.workflow import file_request

NOW = datetime(2026, 1, 14, 6, 0, tzinfo=UTC)  # the rota's second weekly shift: its second member is primary


def urgent(world, priority: str = Priority.P0) -> ServiceRequest:
    """A production issue triaged to vendor A: queued, so paged."""
    service_request = file_request(world, request_type=RequestType.PRODUCTION_ISSUE, priority=priority, title="Down")
    return services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
