"""Celery entry points for Jira: mirror a portal event outbound, process a stored inbound delivery, sweep the
deliveries whose processing never finished.

The first two keep the names they were registered under in `integrations.tasks` (see `constants.py`), so messages queued
before the Jira app existed still find them.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.db import OperationalError

from integrations.errors import IntegrationError, TransientIntegrationError

from .constants import PROCESS_TASK, SYNC_TASK

SYNC_MAX_RETRIES = 8


class JiraSyncTask(Task):
    """After the last retry, the PM sees the failure on the request's timeline; the portal carries on."""

    def on_failure(self, exc: BaseException, task_id: str, args: tuple, kwargs: dict[str, Any], einfo: Any) -> None:
        from .mirror import jira_sync_failure_record

        message = exc.message if isinstance(exc, IntegrationError) else f"{type(exc).__name__} (see the worker log)"
        jira_sync_failure_record(event_id=kwargs["event_id"], error=message)


@shared_task(
    bind=True,
    name=SYNC_TASK,
    base=JiraSyncTask,
    acks_late=True,
    autoretry_for=(TransientIntegrationError,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=SYNC_MAX_RETRIES,
)
def jira_sync_event(self: Task, *, event_id: int) -> list[str]:
    """Mirror one request event to Jira; retried with backoff while Jira is unavailable."""
    from requests_app.models import RequestEvent

    from . import mirror

    event = RequestEvent.objects.select_related("service_request__environment").filter(pk=event_id).first()
    if event is None:
        return ["event gone"]
    try:
        return mirror.jira_sync_event(event=event)
    except TransientIntegrationError:
        raise
    except IntegrationError as exc:
        # Refused credentials or an invalid request do not heal by retrying: tell the PM now.
        mirror.jira_sync_failure_record(event_id=event_id, error=exc.message)
        return [f"failed: {exc.message}"]


class JiraDeliveryTask(Task):
    """A delivery whose processing failed keeps the reason and stays pending: the sweeper sends it again later."""

    def on_failure(self, exc: BaseException, task_id: str, args: tuple, kwargs: dict[str, Any], einfo: Any) -> None:
        from .sweeper import jira_delivery_failure_record

        jira_delivery_failure_record(delivery_id=kwargs["delivery_id"], error=f"{type(exc).__name__}: {exc}")


@shared_task(
    name=PROCESS_TASK,
    base=JiraDeliveryTask,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def jira_delivery_process(*, delivery_id: int) -> str:
    """Apply one stored Jira webhook delivery to the portal."""
    from .inbound import jira_delivery_process as process
    from .models import JiraDelivery

    delivery = JiraDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"
    return process(delivery=delivery)


@shared_task(acks_late=True)
def jira_deliveries_sweep() -> int:
    """Send Jira deliveries stuck in processing again, or give up on them visibly (every minute, from beat)."""
    from .sweeper import jira_deliveries_sweep as sweep

    return sweep()
