"""A real Celery worker on Redis and on RabbitMQ: work filed in a committed transaction runs, rolled-back work never
leaves.

The worker is a separate process (`celery -A portal worker --pool=solo`) on the test database pytest-django
created, so everything it does is visible only through the database and its log — as in production.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import transaction

from conversations.models import Channel, Delivery, DeliveryState
from conversations.tasks import conversations_notify as request_notify_task
from requests_app.choices import EventKind, RequestState
from requests_app.models import Notification, RequestEvent
from requests_app.testing.workflow import file_request, walk_to
from tests.support.brokers import Broker
from tests.support.waiting import wait_until
from tests.support.worker import QUEUE, Worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


NOTIFY = "conversations.tasks.conversations_notify"


@pytest.fixture
def worker(start_worker) -> Worker:
    """One solo worker on the test's broker (Redis or RabbitMQ)."""
    return start_worker(pool="solo")


def _pm_notified(service_request, world) -> bool:
    return Delivery.objects.filter(
        event__service_request=service_request,
        event__kind=EventKind.FILED,
        user=world.pm,
        channel=Channel.EMAIL,
        state=DeliveryState.SENT,
    ).exists()


def test_a_request_filed_in_a_committed_transaction_is_notified_by_the_worker(world, worker):
    service_request = file_request(world)

    assert wait_until(lambda: _pm_notified(service_request, world)), worker.text()[-3000:]
    # The task logs its success just after it commits: wait for the line too rather than race it.
    assert wait_until(lambda: worker.task_count(NOTIFY, "succeeded") == 1), worker.text()[-3000:]


def test_a_request_filed_in_a_rolled_back_transaction_sends_nothing(world, worker, celery_broker: Broker):
    with pytest.raises(RuntimeError), transaction.atomic():
        doomed = file_request(world, title="Never happened")
        raise RuntimeError("roll back")

    # delay_on_commit never published: nothing in the queue, nothing for the worker to receive.
    assert celery_broker.depth(QUEUE) == 0
    assert not RequestEvent.objects.filter(service_request_id=doomed.pk).exists()
    # A committed request after it goes through the same FIFO queue; once the worker has handled that one,
    # anything the rolled-back transaction had sent would have been received first.
    sentinel = file_request(world, title="Committed afterwards")
    assert wait_until(lambda: _pm_notified(sentinel, world)), worker.text()[-3000:]
    assert worker.task_count(NOTIFY, "received") == 1
    assert not Notification.objects.filter(event__service_request_id=doomed.pk).exists()


def test_a_redelivered_notification_is_not_sent_twice_by_the_worker(world, worker):
    service_request = file_request(world)
    assert wait_until(lambda: _pm_notified(service_request, world)), worker.text()[-3000:]
    event = service_request.events.get(kind=EventKind.FILED)
    first = Delivery.objects.get(event=event, user=world.pm, channel=Channel.EMAIL)

    # What a redelivery after a lost acknowledgement looks like: the same message, twice more.
    request_notify_task.apply_async(kwargs={"event_id": event.pk})
    request_notify_task.apply_async(kwargs={"event_id": event.pk})

    assert wait_until(lambda: worker.task_count(NOTIFY, "succeeded") == 3), worker.text()[-3000:]
    again = Delivery.objects.get(event=event, user=world.pm, channel=Channel.EMAIL)  # .get(): still one row
    assert again.sent_at == first.sent_at and again.attempts == 1
    assert re.findall(
        r"Task conversations\.tasks\.conversations_notify\[[^\]]+\] succeeded in [0-9.e-]+s: (\d+)", worker.text()
    ) == [
        "1",
        "0",
        "0",
    ]


def test_running_request_notify_twice_sends_one_email_and_one_notification_per_user(world):
    service_request = walk_to(world, RequestState.QUEUED)  # triage tells the requester and vendor A's people
    event = service_request.events.get(kind=EventKind.TRIAGE)
    mail.outbox.clear()

    first = request_notify_task(event_id=event.pk)
    second = request_notify_task(event_id=event.pk)

    recipients = {world.requester.pk, world.vendor_engineer.pk, world.vendor_lead.pk}
    rows = Notification.objects.filter(event=event)
    assert sorted(rows.values_list("user_id", flat=True)) == sorted(recipients)
    emails = Delivery.objects.filter(event=event, channel=Channel.EMAIL)
    assert all(row.state == DeliveryState.SENT for row in emails) and emails.count() == 3
    assert (first, second) == (3, 0)
    # One message each: each carries its own reply address.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [world.requester.email, world.vendor_engineer.email, world.vendor_lead.email]
    )
