"""Celery entry points for the request workflow: thin, idempotent, called on commit."""

from __future__ import annotations

from celery import shared_task

from portal.mail import MAIL_TASK_RETRY, mail_failures_classified


# Any failure (SMTP, network, database) is retried with backoff, boundedly; an address refused for good is not.
@shared_task(acks_late=True, **MAIL_TASK_RETRY)
def request_notify(*, event_id: int) -> int:
    """E-mail the people an event concerns; a redelivered message does not mail twice."""
    from .models import RequestEvent
    from .notifications import notify

    event = RequestEvent.objects.select_related("service_request__requester", "actor").filter(pk=event_id).first()
    if event is None:  # the filing transaction rolled back after all
        return 0
    with mail_failures_classified():
        return notify(event)


@shared_task(acks_late=True)
def requests_auto_close() -> int:
    """Close requests that stayed resolved past the quiet period."""
    from .services import requests_auto_close as close

    return close()
