"""Slack and Microsoft Teams incoming webhooks: which shared channels hear an event, the payload each expects, and
posting with retries (a 429's Retry-After is obeyed; 5xx and network errors back off; 400/404 fail at once).
The same posting serves a person's own webhook (the `chat` channel of `Delivery`, planned like e-mail).

A webhook tied to a vendor hears only that vendor's requests, and nothing before eGov DevOps approves the work;
one tied to no vendor is a staff channel and hears every vendor's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from portal.outbox import outbox_enqueue
from requests_app.models import RequestEvent

from .emails import notice_subject, request_link
from .matrix import MATRIX, SILENT_STATES_FOR_VENDOR, notice_for
from .models import (
    Batch,
    Channel,
    ChannelSetting,
    ChatDelivery,
    ChatKind,
    ChatWebhook,
    Delivery,
    DeliveryState,
    Mode,
    PersonalChatWebhook,
)

if TYPE_CHECKING:
    from portal.models import User

logger = logging.getLogger(__name__)
CHAT_TASK = "conversations.tasks.conversations_chat_deliver"
PERSONAL_CHAT_TASK = "conversations.tasks.conversations_personal_chat_deliver"
MAX_CHAT_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 30 * 60
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 410})


class ChatRefused(Exception):
    """The chat service answered something no retry will change (a bad payload, a deleted webhook)."""


class ChatLater(Exception):
    """Try again later, not before `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def webhooks_for(event: RequestEvent) -> list[ChatWebhook]:
    """The chat channels that hear `event`: its matrix row says chat (or its priority does, for filings)."""
    notice = notice_for(event)
    service_request = event.service_request
    if notice is None or not MATRIX[notice].goes_to_chat(service_request.priority):
        return []
    vendor_scope = Q(vendor__isnull=True)
    if service_request.vendor_id and service_request.state not in SILENT_STATES_FOR_VENDOR:
        vendor_scope |= Q(vendor_id=service_request.vendor_id)
    return list(
        ChatWebhook.objects.filter(vendor_scope, active=True).filter(
            Q(environment__isnull=True) | Q(environment_id=service_request.environment_id)
        )
    )


def plan_chat(event: RequestEvent) -> list[ChatDelivery]:
    """Record one delivery per channel that hears `event` (in the event's transaction)."""
    created = []
    for hook in webhooks_for(event):
        delivery, is_new = ChatDelivery.objects.get_or_create(
            event=event, webhook=hook, defaults={"notice": event.kind}
        )
        if is_new:
            created.append(delivery)
    return created


def _slack_text(text: str) -> str:
    # Slack mrkdwn treats <, > and & as markup: escaped so user text cannot forge a link or a mention.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _teams_text(text: str) -> str:
    # A MessageCard's text is Markdown: escaped so a title cannot forge a link or emphasis.
    return "".join("\\" + c if c in TEAMS_MARKDOWN else c for c in text)


TEAMS_MARKDOWN = frozenset("\\`*_[]()<>")
DIGEST_LINES = 40  # Slack takes at most 50 blocks; the rest of a long digest is on the notifications page


def payload(kind: str, event: RequestEvent) -> dict[str, Any]:
    """The JSON each service's incoming webhook takes: Slack `{text, blocks}`, Teams a MessageCard."""
    subject = notice_subject(event)
    link = request_link(event.service_request.reference or "")
    if kind == ChatKind.SLACK:
        safe = _slack_text(subject)
        return {
            "text": f"{safe} <{link}|Open>",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{safe}*"}},
                {
                    "type": "actions",
                    "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": link}],
                },
            ],
        }
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": subject,
        "title": subject,
        "text": event.get_kind_display(),
        "potentialAction": [{"@type": "OpenUri", "name": "Open", "targets": [{"os": "default", "uri": link}]}],
    }


def batch_payload(kind: str, events: list[RequestEvent], *, title: str) -> dict[str, Any]:
    """One post listing several notices (the daily digest, a catch-up summary), each linking to its request."""
    rows = [(notice_subject(e), request_link(e.service_request.reference or "")) for e in events[:DIGEST_LINES]]
    more = len(events) - len(rows)
    everything = settings.PORTAL_BASE_URL.rstrip("/") + reverse("notification-list")
    if kind == ChatKind.SLACK:
        lines = [f"• <{link}|{_slack_text(subject)}>" for subject, link in rows]
        if more:
            lines.append(f"…and {more} more: <{everything}|your notifications>")
        return {
            "text": title,
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
                *({"type": "section", "text": {"type": "mrkdwn", "text": line}} for line in lines),
            ],
        }
    lines = [f"- [{_teams_text(subject)}]({link})" for subject, link in rows]
    if more:
        lines.append(f"- …and {more} more: [your notifications]({everything})")
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title,
        "title": title,
        "text": "\n".join(lines),
    }


def message_payload(kind: str, message: dict[str, Any]) -> dict[str, Any]:
    """A post fixed when planned (`{"text", "link", "action"}`), in the service's format, the link as a button."""
    text, link, action = str(message["text"]), str(message["link"]), str(message.get("action") or "Open")
    if kind == ChatKind.SLACK:
        safe = _slack_text(text)
        return {
            "text": f"{safe} <{link}|{action}>",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": safe}},
                {
                    "type": "actions",
                    "elements": [{"type": "button", "text": {"type": "plain_text", "text": action}, "url": link}],
                },
            ],
        }
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": text,
        "text": _teams_text(text),
        "potentialAction": [{"@type": "OpenUri", "name": action, "targets": [{"os": "default", "uri": link}]}],
    }


def chat_message_plan(
    event: RequestEvent,
    *,
    webhooks: QuerySet[ChatWebhook] | None = None,
    channel_message: dict[str, Any] | None = None,
    people: dict[User, dict[str, Any]] | None = None,
) -> int:
    """Owe a post fixed now (a page) about `event`: `channel_message` to each of `webhooks`, and each person's own
    message to their own webhook (unless they turned chat off), in the event's transaction; the outbox sends them
    after commit, and failures back off and retry like every chat post. Keyed (event, webhook) and (event, person,
    chat), so planning twice owes nothing twice. Returns how many posts are owed now."""
    owed = 0
    for hook in webhooks if webhooks is not None and channel_message else ():
        delivery, created = ChatDelivery.objects.get_or_create(
            event=event, webhook=hook, defaults={"notice": event.kind, "message": channel_message}
        )
        if created:
            outbox_enqueue(CHAT_TASK, delivery_id=delivery.pk)
            owed += 1
    people = people or {}
    muted = set(
        ChannelSetting.objects.filter(user__in=list(people), channel=Channel.CHAT, mode=Mode.OFF).values_list(
            "user_id", flat=True
        )
    )
    with_hooks = set(PersonalChatWebhook.objects.filter(user__in=list(people)).values_list("user_id", flat=True))
    for person, message in people.items():
        if person.pk in muted or person.pk not in with_hooks:
            continue
        own, created = Delivery.objects.get_or_create(
            event=event, user=person, channel=Channel.CHAT, defaults={"notice": event.kind, "message": message}
        )
        if created:
            outbox_enqueue(PERSONAL_CHAT_TASK, delivery_id=own.pk)
            owed += 1
    return owed


def post(kind: str, url: str, body: dict[str, Any]) -> None:
    """POST `body` to the webhook at `url`; raises `ChatRefused` or `ChatLater` unless the service accepted it."""
    try:
        # A webhook never redirects; following one would let an address lead the server somewhere else.
        response = requests.post(url, json=body, timeout=settings.PORTICO_CHAT_TIMEOUT_SECONDS, allow_redirects=False)
    except requests.RequestException as exc:
        raise ChatLater(f"{exc.__class__.__name__}: {exc}") from exc
    text = response.text.strip()
    if response.status_code == 429:
        retry_after = response.headers.get("Retry-After", "")
        raise ChatLater(f"429 {text}", retry_after=float(retry_after) if retry_after.isdigit() else None)
    if response.status_code in PERMANENT_STATUSES or 300 <= response.status_code < 400:
        raise ChatRefused(f"{response.status_code} {text}")
    if not 200 <= response.status_code < 300:
        raise ChatLater(f"{response.status_code} {text}")
    expected = "ok" if kind == ChatKind.SLACK else "1"
    if text != expected:
        raise ChatRefused(f"{response.status_code} unexpected answer {text[:100]!r}")


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def _post_claimed(row: QuerySet[Any], *, kind: str, url: str, body: Callable[[], dict[str, Any]], label: str) -> bool:
    """Post one due delivery row (a `ChatDelivery`, or a person's `chat` `Delivery`) at most once.

    The row is claimed (`sending`, committed at once) before the post and marked after, as e-mail is: a task and
    the retry beat or the sweeper racing for it post it once, and a worker that dies mid-post leaves it claimed,
    shown to the program manager, rather than posting it again."""
    now = timezone.now()
    with transaction.atomic():
        claimed = row.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now).update(
            state=DeliveryState.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    if not claimed:
        return False
    attempts = row.values_list("attempts", flat=True).get()
    try:
        post(kind, url, body())
    except ChatRefused as exc:
        row.update(state=DeliveryState.FAILED, last_error=str(exc)[:500])
        return False
    except ChatLater as exc:
        wait = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else _backoff(attempts)
        done = attempts >= MAX_CHAT_ATTEMPTS
        row.update(
            state=DeliveryState.FAILED if done else DeliveryState.PENDING,
            next_attempt_at=timezone.now() + wait,
            last_error=str(exc)[:500],
        )
        logger.warning("chat: %s not posted (%s); attempt %d", label, exc, attempts)
        return False
    row.update(state=DeliveryState.SENT, sent_at=timezone.now(), last_error="")
    return True


def chat_deliver(delivery_id: int) -> bool:
    """Post one event to one shared chat channel if it is due; True when it went out."""
    delivery = ChatDelivery.objects.select_related("webhook", "event__service_request").filter(pk=delivery_id).first()
    if delivery is None:
        return False
    hook, event, message = delivery.webhook, delivery.event, delivery.message
    return _post_claimed(
        ChatDelivery.objects.filter(pk=delivery_id),
        kind=hook.kind,
        url=hook.url,
        body=lambda: message_payload(hook.kind, message) if message else payload(hook.kind, event),
        label=str(hook),
    )


def personal_chat_deliver(delivery_id: int) -> bool:
    """Post one notice to its recipient's own Slack or Teams webhook if it is due; True when it went out."""
    delivery = (
        Delivery.objects.select_related("user", "event__service_request")
        .filter(pk=delivery_id, channel=Channel.CHAT, batch=Batch.NONE)
        .first()
    )
    if delivery is None:
        return False
    row = Delivery.objects.filter(pk=delivery_id)
    hook = PersonalChatWebhook.objects.filter(user_id=delivery.user_id).first()
    if hook is None:  # removed since the notice was planned: nowhere to post it
        row.filter(state=DeliveryState.PENDING).update(
            state=DeliveryState.FAILED, last_error="No personal chat webhook any more."
        )
        return False
    event, message = delivery.event, delivery.message
    return _post_claimed(
        row,
        kind=hook.kind,
        url=hook.url,
        body=lambda: message_payload(hook.kind, message) if message else payload(hook.kind, event),
        label=f"{delivery.user}'s chat",
    )


def chat_deliveries_due(*, limit: int = 200) -> int:
    """Retry every chat post (shared channels and people's own) whose wait is over; returns how many went out."""
    now = timezone.now()
    shared = ChatDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
    personal = Delivery.objects.filter(
        channel=Channel.CHAT, batch=Batch.NONE, state=DeliveryState.PENDING, next_attempt_at__lte=now
    )
    sent = sum(chat_deliver(pk) for pk in shared.order_by("pk").values_list("pk", flat=True)[:limit])
    return sent + sum(personal_chat_deliver(pk) for pk in personal.order_by("pk").values_list("pk", flat=True)[:limit])
