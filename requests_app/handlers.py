"""The request domain's own reaction to timeline events: telling people (e-mail and the in-portal list)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.events import registry
from portal.outbox import outbox_enqueue

from .notifications import SUBJECTS

if TYPE_CHECKING:
    from .models import RequestEvent

NOTIFY_TASK = "requests_app.tasks.request_notify"


@registry.register("notifications: e-mail and in-portal list", kinds=SUBJECTS)
def notify_on_commit(event: RequestEvent) -> None:
    """Queue the notification task with the event; who hears what is decided there (`notifications.py`)."""
    outbox_enqueue(NOTIFY_TASK, event_id=event.pk)
