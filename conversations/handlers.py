"""Conversations' reaction to timeline events: mentions first (a mentioned person is then a watcher and hears the
comment), then every person's notices, then the shared chat channels. All in the event's transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.events import registry
from portal.outbox import outbox_enqueue
from requests_app.choices import EventKind

from .chat import CHAT_TASK, PERSONAL_CHAT_TASK, plan_chat
from .delivery import NOTIFY_TASK, plan_owed
from .matrix import MATRIX, kinds_heard
from .watchers import mentions_apply

if TYPE_CHECKING:
    from requests_app.models import RequestEvent

# Every kind the matrix has a row for; a derived notice (approval_requested) arrives as its event kind (triage).
HEARD = kinds_heard(MATRIX)
CHAT_HEARD = kinds_heard(notice for notice, row in MATRIX.items() if row.chat or row.chat_priorities)


@registry.register("conversations: mentions make watchers", kinds=[EventKind.COMMENT])
def on_comment_mentions(event: RequestEvent) -> None:
    mentions_apply(event)


@registry.register("conversations: notify people (in-portal now, e-mail and own chat after commit)", kinds=HEARD)
def on_event_notify(event: RequestEvent) -> None:
    owed = plan_owed(event)
    if owed.emails:
        outbox_enqueue(NOTIFY_TASK, event_id=event.pk)
    for delivery_id in owed.chat_ids:
        outbox_enqueue(PERSONAL_CHAT_TASK, delivery_id=delivery_id)


@registry.register("conversations: post to chat channels", kinds=CHAT_HEARD)
def on_event_chat(event: RequestEvent) -> None:
    for delivery in plan_chat(event):
        outbox_enqueue(CHAT_TASK, delivery_id=delivery.pk)
