"""Jira deliveries stuck in processing: stored and acknowledged to Jira, but never applied, because the worker
processing them died or the processing failed. Jira will not send them again (it got its 202), so Portico must.

The sweeper (`jira_deliveries_sweep`, from beat every minute) sends a delivery still unprocessed
PORTICO_JIRA_DELIVERY_GRACE_SECONDS after it arrived (or after its last re-send) through the outbox again, up to
PORTICO_JIRA_DELIVERY_MAX_ATTEMPTS sends in all. Then it gives up: the delivery is marked failed with a note
(the admin's list filters on it), and when it names an issue linked to a request, the program manager gets an
internal `jira_sync_failed` event on that request's timeline to reconcile it by hand. Processing itself stays
idempotent (`inbound.jira_delivery_process`), so a late original delivery and a re-send apply it once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.outbox import outbox_enqueue
from requests_app.choices import EventKind
from requests_app.timeline import timeline_append

from .choices import DeliveryOutcome
from .constants import PROCESS_TASK
from .models import JiraDelivery, JiraLink

log = logging.getLogger(__name__)


def jira_delivery_failure_record(*, delivery_id: int, error: str) -> None:
    """Keep why processing a delivery failed, for the sweeper's final note and the admin; it stays pending."""
    JiraDelivery.objects.filter(pk=delivery_id, processed_at__isnull=True).update(last_error=error[:2000])


def _give_up(delivery: JiraDelivery, now: datetime) -> None:
    """Mark a delivery that was sent MAX_ATTEMPTS times and never processed as failed, visibly."""
    error = delivery.last_error or "no error was recorded, so the worker processing it probably died"
    what = f"{delivery.webhook_event or 'A delivery'}" + (f" on {delivery.issue_key}" if delivery.issue_key else "")
    note = f"Not processed after {delivery.attempts} attempts; Portico gave up. Last error: {error}"
    delivery.outcome, delivery.processed_at = DeliveryOutcome.FAILED, now
    delivery.notes = "\n".join(part for part in (delivery.notes, note) if part)
    link = (
        JiraLink.objects.filter(environment=delivery.environment, jira_key=delivery.issue_key)
        .exclude(jira_key="")
        .select_related("service_request")
        .first()
    )
    if link is not None:
        delivery.service_request = link.service_request
        timeline_append(
            link.service_request,
            kind=EventKind.JIRA_SYNC_FAILED,
            message=f"A change from Jira ({what}) could not be applied after {delivery.attempts} attempts: {error}. "
            f"Please check {link.jira_key} in Jira and bring the request in line by hand.",
            internal=True,
            payload={"source": "jira", "delivery": delivery.delivery_id, "jira_key": link.jira_key, "error": error},
        )
    delivery.save(update_fields=["outcome", "processed_at", "notes", "service_request"])
    log.warning("jira delivery %s failed after %s attempts: %s", delivery.delivery_id, delivery.attempts, error)


def jira_deliveries_sweep(*, now: datetime | None = None, batch: int = 100) -> int:
    """Send deliveries stuck in processing again, or give up on them; safe on two workers at once. Returns how
    many were sent again."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.PORTICO_JIRA_DELIVERY_GRACE_SECONDS)
    sent = 0
    with transaction.atomic():
        stuck = list(
            JiraDelivery.objects.filter(processed_at__isnull=True)
            .filter(Q(last_sent_at__isnull=True, received_at__lte=cutoff) | Q(last_sent_at__lte=cutoff))
            # A delivery being processed right now is locked by its task: skipped, not waited for.
            .select_for_update(of=("self",), skip_locked=True)
            .select_related("environment")
            .order_by("received_at", "pk")[:batch]
        )
        for delivery in stuck:
            if delivery.attempts >= settings.PORTICO_JIRA_DELIVERY_MAX_ATTEMPTS:
                _give_up(delivery, now)
                continue
            delivery.attempts += 1
            delivery.last_sent_at = now
            delivery.save(update_fields=["attempts", "last_sent_at"])
            outbox_enqueue(PROCESS_TASK, delivery_id=delivery.pk)
            log.info("jira delivery %s not processed; sent again (attempt %s)", delivery.delivery_id, delivery.attempts)
            sent += 1
    return sent
