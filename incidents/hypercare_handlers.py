"""The incidents app's reactions to timeline events: hypercare links new production issues, and a resolved P0/P1
production issue gets its post-incident review. Registered in `IncidentsConfig.ready()`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.events import registry
from requests_app.choices import EventKind

from .hypercare import hypercare_link_issue
from .reviews import review_needed, review_open

if TYPE_CHECKING:
    from requests_app.models import RequestEvent


@registry.register("incidents: link production issues filed during hypercare", kinds=[EventKind.FILED])
def link_to_hypercare(event: RequestEvent) -> None:
    """A production issue filed in an open window's environment and stack joins it (and goes up one level)."""
    hypercare_link_issue(event.service_request)


@registry.register("incidents: open the post-incident review of a resolved P0/P1", kinds=[EventKind.RESOLVE])
def open_review_on_resolve(event: RequestEvent) -> None:
    """Draft the review as the incident is resolved, its timeline read from the events so far."""
    if review_needed(event.service_request):
        review_open(event.service_request, actor=None)
