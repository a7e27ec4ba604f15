"""Celery entry points of paging: thin, idempotent, sent through the outbox or by beat."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def page_deliver(*, page_id: int) -> str:
    from .paging import page_deliver as deliver

    return deliver(page_id)


@shared_task
def pages_escalate() -> dict[str, int]:
    from .paging import pages_escalate as escalate
    from .paging import pages_sms_retry

    return {"escalated": escalate(), "sms_sent": pages_sms_retry()}
