"""Celery entry points of conversations: thin, idempotent, called on commit or by beat."""

from __future__ import annotations

from celery import shared_task

from portal.mail import MAIL_TASK_RETRY, mail_failures_classified


# Any failure is retried with backoff, boundedly; an address refused for good is not (see delivery.notify).
@shared_task(acks_late=True, **MAIL_TASK_RETRY)
def conversations_notify(*, event_id: int) -> int:
    """E-mail the people an event concerns; a redelivered message, or a retry after a crash, mails nobody twice."""
    from requests_app.models import RequestEvent

    from .delivery import notify

    event = RequestEvent.objects.select_related("service_request__requester", "actor").filter(pk=event_id).first()
    if event is None:  # the transaction that recorded it rolled back after all
        return 0
    with mail_failures_classified():
        return notify(event)


# The name the task had before notifications moved here: a message queued by the previous release still runs.
@shared_task(name="requests_app.tasks.request_notify", acks_late=True, **MAIL_TASK_RETRY)
def request_notify_queued_before_upgrade(*, event_id: int) -> int:
    return conversations_notify(event_id=event_id)


@shared_task(acks_late=True)
def conversations_chat_deliver(*, delivery_id: int) -> bool:
    """Post one event to one Slack or Teams channel; a failure waits for `conversations_chat_retry`."""
    from .chat import chat_deliver

    return chat_deliver(delivery_id)


@shared_task(acks_late=True)
def conversations_personal_chat_deliver(*, delivery_id: int) -> bool:
    """Post one notice to its recipient's own Slack or Teams webhook; a failure waits for the retry beat."""
    from .chat import personal_chat_deliver

    return personal_chat_deliver(delivery_id)


@shared_task(acks_late=True)
def conversations_chat_retry() -> int:
    """Post the chat deliveries (shared channels and people's own) whose backoff (or Retry-After) is over."""
    from .chat import chat_deliveries_due

    return chat_deliveries_due()


@shared_task(acks_late=True)
def conversations_send_summaries() -> int:
    """One message per person for SLA flags raised on catching up (a fresh install, or after downtime)."""
    from .delivery import send_batches
    from .models import Batch

    return send_batches(Batch.SUMMARY)


@shared_task(acks_late=True)
def conversations_send_digests() -> int:
    """The daily digest: one message per person and channel for everything they chose to hear once a day."""
    from .delivery import send_batches
    from .models import Batch

    return send_batches(Batch.DIGEST)


@shared_task(acks_late=True)
def conversations_deliveries_sweep() -> dict[str, int]:
    """Queue again the e-mails and chat posts still owed long after they were due (their task was lost)."""
    from .sweeper import deliveries_sweep

    return deliveries_sweep()
