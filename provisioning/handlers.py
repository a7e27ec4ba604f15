"""Provisioning's reaction to timeline events: approved automation starts by itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.events import registry
from requests_app.choices import EventKind

from .services import run_start_after_approval

if TYPE_CHECKING:
    from requests_app.models import RequestEvent


@registry.register("provisioning: start approved automation", kinds=[EventKind.APPROVE])
def start_after_approval(event: RequestEvent) -> None:
    """The approval of a request with complete parameters starts its run as the portal (queued on commit)."""
    run_start_after_approval(event.service_request)
