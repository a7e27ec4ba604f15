"""Jira deliveries stuck in processing (their worker died, or processing failed): the sweeper sends them again
through the outbox after a grace period, a bounded number of times, then marks them failed for the program
manager. Deliveries arrive through the real signed webhook; the outbox is run like a worker would."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from conversations.delivery import notify
from jira_bridge.choices import DeliveryOutcome
from jira_bridge.constants import PROCESS_TASK
from jira_bridge.models import JiraDelivery
from jira_bridge.sweeper import jira_deliveries_sweep
from jira_bridge.tasks import jira_deliveries_sweep as jira_deliveries_sweep_task
from jira_bridge.tasks import jira_delivery_process as jira_delivery_process_task
from jira_bridge.tests.conftest import run_outbox
from jira_bridge.tests.test_webhooks import comment_created, post
from portal.celery import app
from portal.models import OutboxMessage
from requests_app.choices import EventKind
from requests_app.models import Notification
from tests.support.locking import sweep_past_a_locked_row

pytestmark = pytest.mark.django_db


def _later(settings, *, graces: float = 1) -> datetime:
    return timezone.now() + timedelta(seconds=settings.PORTICO_JIRA_DELIVERY_GRACE_SECONDS * graces + 1)


def _lost_with_its_worker() -> None:
    """The outbox sent the processing task and the worker holding it died: nothing will process it now."""
    OutboxMessage.objects.filter(task=PROCESS_TASK, dispatched_at__isnull=True).update(dispatched_at=timezone.now())


def _sends(delivery: JiraDelivery) -> int:
    return OutboxMessage.objects.filter(task=PROCESS_TASK, kwargs={"delivery_id": delivery.pk}).count()


def test_a_delivery_whose_worker_died_is_sent_again_after_the_grace_and_applied_once(client, mirrored, settings):
    post(client, comment_created("OPS-1", "31000", "Looking into it"))
    delivery = JiraDelivery.objects.get()
    _lost_with_its_worker()

    assert jira_deliveries_sweep() == 0  # within the grace period: the worker may just be busy
    assert jira_deliveries_sweep(now=_later(settings)) == 1

    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.last_sent_at is not None and _sends(delivery) == 2
    assert run_outbox(jira_delivery_process_task) == ["applied"]
    assert jira_deliveries_sweep(now=_later(settings, graces=3)) == 0  # processed: nothing left to sweep
    assert mirrored.events.filter(kind=EventKind.JIRA_COMMENT).count() == 1


def test_a_delivery_sent_again_is_not_sent_again_before_another_grace_period(client, mirrored, settings):
    post(client, comment_created("OPS-1", "31000", "Looking into it"))
    _lost_with_its_worker()
    first = _later(settings)

    assert jira_deliveries_sweep(now=first) == 1
    assert jira_deliveries_sweep(now=first + timedelta(seconds=1)) == 0

    assert _sends(JiraDelivery.objects.get()) == 2


def test_a_delivery_that_keeps_failing_is_marked_failed_for_the_pm_after_the_last_attempt(
    client, mirrored, settings, world
):
    settings.PORTICO_JIRA_DELIVERY_MAX_ATTEMPTS = 2
    post(client, comment_created("OPS-1", "31000", "Looking into it"))
    delivery = JiraDelivery.objects.get()
    JiraDelivery.objects.filter(pk=delivery.pk).update(body='{"truncated')  # processing it now raises
    _lost_with_its_worker()

    assert jira_deliveries_sweep(now=_later(settings)) == 1
    failed = jira_delivery_process_task.apply(kwargs={"delivery_id": delivery.pk})  # runs on_failure, as a worker
    assert failed.failed()
    delivery.refresh_from_db()
    assert delivery.outcome == DeliveryOutcome.PENDING and delivery.last_error.startswith("JSONDecodeError")
    assert jira_deliveries_sweep(now=_later(settings, graces=3)) == 0  # no third send: it gives up

    delivery.refresh_from_db()
    assert delivery.outcome == DeliveryOutcome.FAILED and delivery.processed_at is not None
    assert "Not processed after 2 attempts" in delivery.notes and "JSONDecodeError" in delivery.notes
    assert delivery.service_request == mirrored and _sends(delivery) == 2
    event = mirrored.events.get(kind=EventKind.JIRA_SYNC_FAILED)
    assert event.internal and "comment_created on OPS-1" in event.message and "OPS-1 in Jira" in event.message
    assert event.payload["delivery"] == "d-1"
    notify(event)
    assert list(Notification.objects.filter(event=event).values_list("user__username", flat=True)) == ["pm"]
    # A late redelivery of the original message changes nothing.
    assert jira_delivery_process_task(delivery_id=delivery.pk) == DeliveryOutcome.FAILED


def test_the_admin_lists_failed_deliveries(client, mirrored, settings, admin_client):
    settings.PORTICO_JIRA_DELIVERY_MAX_ATTEMPTS = 1
    post(client, comment_created("OPS-1", "31000", "Looking into it"), delivery_id="lost-one")
    _lost_with_its_worker()
    jira_deliveries_sweep(now=_later(settings))

    url = reverse("admin:jira_bridge_jiradelivery_changelist") + "?outcome__exact=failed"
    html = admin_client.get(url).content.decode()

    assert "lost-one" in html and "Failed" in html
    detail = admin_client.get(reverse("admin:jira_bridge_jiradelivery_change", args=[JiraDelivery.objects.get().pk]))
    assert "the worker processing it probably died" in detail.content.decode()


def test_the_sweeper_is_on_the_beat_schedule():
    entry = app.conf.beat_schedule["jira-deliveries-sweep"]

    assert entry["task"] == jira_deliveries_sweep_task.name and float(entry["schedule"]) <= 60


@pytest.mark.django_db(transaction=True)
def test_a_delivery_being_processed_is_skipped_not_waited_for(client, jira_connection, settings):
    # Committed for real here, so the outbox sends the task to Redis at once; no worker takes it, as if it died.
    post(client, comment_created("OPS-9", "31000", "Looking into it"))
    delivery = JiraDelivery.objects.get()
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    broker.delete("celery")
    broker.close()
    # The lock is what jira_delivery_process holds while it applies the delivery.
    assert sweep_past_a_locked_row(JiraDelivery, delivery.pk, lambda: jira_deliveries_sweep(now=_later(settings))) == 0
    assert jira_deliveries_sweep(now=_later(settings)) == 1
