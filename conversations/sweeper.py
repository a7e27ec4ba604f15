"""The stuck-delivery sweeper: e-mails and chat posts still owed long after they were due are queued again.

A delivery row is written with the event; its task goes through the outbox after commit. The outbox resends a
task it could not publish, but not one the broker accepted and then lost (a Redis restart without persistence, a
purged queue), nor an e-mail retry waiting in Celery's countdown when that message is lost. Such a row would stay
`pending` for ever. Beat's `conversations_deliveries_sweep` finds the rows still `pending` more than
`PORTICO_DELIVERY_SWEEP_AFTER_SECONDS` after they were due and queues their task again, through the outbox.

Queueing twice is harmless: every sender claims its row (`pending` → `sending`, committed) before anything leaves,
so of a swept task, the original one arriving late, and a second sweep, exactly one sends.

A row left `sending` is not swept. Its worker died between claiming it and recording the outcome, so nobody knows
whether the message left (SMTP may have accepted it; Slack may have posted it). Sending it again could tell the
person twice, which the claim exists to prevent; the program manager sees it on /notifications/deliveries/ after
`delivery.STALE_CLAIM` and can check with the recipient.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.mail import MAIL_TASK_RETRY
from portal.models import OutboxMessage
from portal.outbox import outbox_enqueue

from .delivery import MAX_ATTEMPTS
from .handlers import CHAT_TASK, NOTIFY_TASK, PERSONAL_CHAT_TASK
from .models import Batch, Channel, ChatDelivery, Delivery, DeliveryState


def mail_retry_wait(attempts: int) -> timedelta:
    """The longest Celery waits before retrying an e-mail task after `attempts` failed tries (jitter only shortens
    it), so the sweeper never overtakes a retry that is merely waiting its turn."""
    factor, ceiling = MAIL_TASK_RETRY["retry_backoff"], MAIL_TASK_RETRY["retry_backoff_max"]
    return timedelta(seconds=min(ceiling, factor * 2 ** max(attempts - 1, 0)))


def _mail_overdue(cutoff: datetime) -> Q:
    """E-mails never tried since `cutoff`, or whose last try plus its retry wait is older than it."""
    overdue = Q(attempts=0, created_at__lt=cutoff)
    for attempts in range(1, MAX_ATTEMPTS + 1):
        overdue |= Q(attempts=attempts, claimed_at__lt=cutoff - mail_retry_wait(attempts))
    return overdue


def _waiting_in_outbox(task: str, key: str) -> set[int]:
    """Ids already queued in the outbox and not yet published: queueing them again would only add a row."""
    messages = OutboxMessage.objects.filter(task=task, dispatched_at__isnull=True)
    return {int(value) for value in messages.values_list(f"kwargs__{key}", flat=True) if value is not None}


@transaction.atomic
def deliveries_sweep(*, limit: int = 500) -> dict[str, int]:
    """Queue again every e-mail and chat delivery overdue by `PORTICO_DELIVERY_SWEEP_AFTER_SECONDS`; how many
    tasks of each kind were queued. Safe to run on several workers at once, or twice: nothing is sent twice."""
    cutoff = timezone.now() - timedelta(seconds=settings.PORTICO_DELIVERY_SWEEP_AFTER_SECONDS)
    owed = Delivery.objects.filter(state=DeliveryState.PENDING, batch=Batch.NONE)
    targets = {
        NOTIFY_TASK: (
            "event_id",
            owed.filter(_mail_overdue(cutoff), channel=Channel.EMAIL).values_list("event_id", flat=True),
        ),
        PERSONAL_CHAT_TASK: (
            "delivery_id",
            owed.filter(channel=Channel.CHAT, next_attempt_at__lt=cutoff).values_list("pk", flat=True),
        ),
        CHAT_TASK: (
            "delivery_id",
            ChatDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lt=cutoff).values_list(
                "pk", flat=True
            ),
        ),
    }
    queued: dict[str, int] = {}
    for task, (key, ids) in targets.items():
        fresh = sorted(set(ids.order_by()[:limit]) - _waiting_in_outbox(task, key))
        for pk in fresh:
            outbox_enqueue(task, **{key: pk})
        queued[task.rsplit(".", 1)[1]] = len(fresh)
    return queued
