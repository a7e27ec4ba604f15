"""Slack and Microsoft Teams incoming webhooks: which channels hear an event, the payload each expects, and
posting with retries (a 429's Retry-After is obeyed; 5xx and network errors back off; 400/404 fail at once).

A webhook tied to a vendor hears only that vendor's requests, and nothing before eGov DevOps approves the work;
one tied to no vendor is a staff channel and hears every vendor's.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from requests_app.models import RequestEvent

from .emails import notice_subject, request_link
from .matrix import MATRIX, SILENT_STATES_FOR_VENDOR, notice_for
from .models import ChatDelivery, ChatKind, ChatWebhook, DeliveryState

logger = logging.getLogger(__name__)
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


def payload(kind: str, event: RequestEvent) -> dict[str, Any]:
    """The JSON each service's incoming webhook takes: Slack `{text, blocks}`, Teams a MessageCard."""
    subject = notice_subject(event)
    link = request_link(event.service_request.reference or "")
    if kind == ChatKind.SLACK:
        # Slack mrkdwn treats <, > and & as markup: escaped so user text cannot forge a link or a mention.
        safe = subject.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
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


def post(webhook: ChatWebhook, body: dict[str, Any]) -> None:
    """POST `body` to `webhook`; raises `ChatRefused` or `ChatLater` unless the service accepted it."""
    try:
        response = requests.post(webhook.url, json=body, timeout=settings.PORTICO_CHAT_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise ChatLater(f"{exc.__class__.__name__}: {exc}") from exc
    text = response.text.strip()
    if response.status_code == 429:
        retry_after = response.headers.get("Retry-After", "")
        raise ChatLater(f"429 {text}", retry_after=float(retry_after) if retry_after.isdigit() else None)
    if response.status_code in PERMANENT_STATUSES:
        raise ChatRefused(f"{response.status_code} {text}")
    if not 200 <= response.status_code < 300:
        raise ChatLater(f"{response.status_code} {text}")
    expected = "ok" if webhook.kind == ChatKind.SLACK else "1"
    if text != expected:
        raise ChatRefused(f"{response.status_code} unexpected answer {text[:100]!r}")


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def chat_deliver(delivery_id: int) -> bool:
    """Post one chat delivery if it is due; True when it went out."""
    with transaction.atomic():
        delivery = (
            ChatDelivery.objects.select_for_update(skip_locked=True)
            .select_related("webhook", "event__service_request")
            .filter(pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=timezone.now())
            .first()
        )
        if delivery is None:
            return False
        ChatDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
        attempts = delivery.attempts + 1
        try:
            post(delivery.webhook, payload(delivery.webhook.kind, delivery.event))
        except ChatRefused as exc:
            ChatDelivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.FAILED, last_error=str(exc)[:500])
            return False
        except ChatLater as exc:
            wait = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else _backoff(attempts)
            done = attempts >= MAX_CHAT_ATTEMPTS
            ChatDelivery.objects.filter(pk=delivery.pk).update(
                state=DeliveryState.FAILED if done else DeliveryState.PENDING,
                next_attempt_at=timezone.now() + wait,
                last_error=str(exc)[:500],
            )
            logger.warning("chat: %s not posted (%s); attempt %d", delivery.webhook, exc, attempts)
            return False
        ChatDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.SENT, sent_at=timezone.now(), last_error=""
        )
        return True


def chat_deliveries_due() -> int:
    """Retry every chat delivery whose wait is over; returns how many went out."""
    due = ChatDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=timezone.now())
    return sum(chat_deliver(pk) for pk in due.order_by("pk").values_list("pk", flat=True)[:200])
