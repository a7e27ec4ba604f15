"""The stuck-delivery sweeper: an e-mail or chat post whose task was lost (never published, or lost by the broker)
is queued again once it is `PORTICO_DELIVERY_SWEEP_AFTER_SECONDS` overdue, and still goes out exactly once, however
many sweeps queue it and even while the original task is posting it; a retry waiting its backoff is not overtaken,
and a row left `sending` by a dead worker is never sent again."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from conversations.chat import personal_chat_deliver
from conversations.handlers import CHAT_TASK, NOTIFY_TASK, PERSONAL_CHAT_TASK
from conversations.models import (
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
from conversations.sweeper import deliveries_sweep, mail_retry_wait
from conversations.tasks import conversations_chat_deliver, conversations_notify, conversations_personal_chat_deliver
from portal.celery import app
from portal.models import OutboxMessage
from requests_app.choices import EventKind, RequestState
from requests_app.testing.workflow import file_request, walk_to
from requests_app.timeline import timeline_append

AGE = 300
TASKS = {
    NOTIFY_TASK: conversations_notify,
    CHAT_TASK: conversations_chat_deliver,
    PERSONAL_CHAT_TASK: conversations_personal_chat_deliver,
}


def _lose_every_task() -> None:
    """The broker took the tasks and lost them (a restart without persistence): published, never run."""
    OutboxMessage.objects.update(dispatched_at=timezone.now())


def _run_queued() -> int:
    """What the worker does with what the outbox has not yet run; returns how many tasks ran."""
    ran = 0
    for message in OutboxMessage.objects.filter(dispatched_at__isnull=True).order_by("pk"):
        TASKS[message.task].apply(kwargs=message.kwargs)
        OutboxMessage.objects.filter(pk=message.pk).update(dispatched_at=timezone.now())
        ran += 1
    return ran


def _later(seconds: float):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds))


# --- e-mail ----------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_an_email_whose_task_was_lost_goes_once_after_the_sweep(world, settings):
    settings.PORTICO_DELIVERY_SWEEP_AFTER_SECONDS = AGE
    event = file_request(world).events.get(kind=EventKind.FILED)
    _lose_every_task()
    mail.outbox.clear()

    with _later(AGE - 5):
        assert deliveries_sweep()["conversations_notify"] == 0  # not overdue yet: its task may still come
    with _later(AGE + 5):
        assert deliveries_sweep()["conversations_notify"] == 1
        assert _run_queued() == 1
        assert deliveries_sweep()["conversations_notify"] == 0  # sent: nothing left to sweep

    assert [m.to for m in mail.outbox] == [[world.pm.email]]
    delivery = Delivery.objects.get(event=event, user=world.pm, channel=Channel.EMAIL)
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 1)


@pytest.mark.django_db
def test_two_sweeps_and_the_original_task_arriving_late_still_send_once(world, settings):
    settings.PORTICO_DELIVERY_SWEEP_AFTER_SECONDS = AGE
    event = file_request(world).events.get(kind=EventKind.FILED)
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(hours=1))  # the original, never published
    mail.outbox.clear()

    with _later(AGE + 5):
        assert deliveries_sweep()["conversations_notify"] == 0  # already waiting in the outbox: not queued again
        _lose_every_task()
        assert deliveries_sweep()["conversations_notify"] == 1
        _lose_every_task()
        assert deliveries_sweep()["conversations_notify"] == 1  # a second sweep before any task ran
        assert OutboxMessage.objects.filter(task=NOTIFY_TASK).count() == 3
        OutboxMessage.objects.update(dispatched_at=None)  # now every one of them runs, the original too
        assert _run_queued() == 3

    assert len(mail.outbox) == 1 and mail.outbox[0].to == [world.pm.email]
    assert Delivery.objects.get(event=event, user=world.pm, channel=Channel.EMAIL).attempts == 1


@pytest.mark.django_db
def test_a_retry_waiting_its_backoff_is_not_overtaken_but_a_lost_one_is_swept(world, settings):
    settings.PORTICO_DELIVERY_SWEEP_AFTER_SECONDS = AGE
    event = file_request(world).events.get(kind=EventKind.FILED)
    _lose_every_task()
    # Three failed tries: Celery waits up to 120 s before the fourth, then that message was lost.
    Delivery.objects.filter(event=event, channel=Channel.EMAIL).update(attempts=3, claimed_at=timezone.now())
    assert mail_retry_wait(3) == timedelta(seconds=120) and mail_retry_wait(99) == timedelta(minutes=15)
    mail.outbox.clear()

    with _later(AGE + 115):
        assert deliveries_sweep()["conversations_notify"] == 0
    with _later(AGE + 125):
        assert deliveries_sweep()["conversations_notify"] == 1
        _run_queued()
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_delivery_stopped_while_sending_is_never_swept_and_is_shown_to_the_pm(world, settings, client):
    settings.PORTICO_DELIVERY_SWEEP_AFTER_SECONDS = AGE
    service_request = file_request(world)
    _lose_every_task()
    Delivery.objects.filter(channel=Channel.EMAIL).update(
        state=DeliveryState.SENDING, attempts=1, claimed_at=timezone.now() - timedelta(hours=1)
    )

    with _later(AGE * 10):
        assert deliveries_sweep() == {
            "conversations_notify": 0,
            "conversations_personal_chat_deliver": 0,
            "conversations_chat_deliver": 0,
        }
    client.force_login(world.pm)
    page = client.get(reverse("notification-deliveries")).content.decode()
    assert "Stopped while sending" in page and service_request.reference in page


# --- chat ------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_lost_chat_posts_to_shared_channels_and_own_webhooks_go_once_after_the_sweep(world, settings, slack):
    settings.PORTICO_DELIVERY_SWEEP_AFTER_SECONDS = AGE
    ChatWebhook.objects.create(name="staff", kind=ChatKind.SLACK, url=slack.webhook_url)
    PersonalChatWebhook.objects.create(user=world.vendor_lead, kind=ChatKind.SLACK, url=slack.webhook_url)
    timeline_append(walk_to(world, RequestState.IN_PROGRESS), kind=EventKind.SLA_BREACHED, payload={})
    _lose_every_task()
    slack.reset_calls()
    slack.accepted.clear()
    Delivery.objects.filter(channel=Channel.CHAT).exclude(event__kind=EventKind.SLA_BREACHED).delete()

    with _later(AGE + 5):
        swept = deliveries_sweep()
        assert (swept["conversations_chat_deliver"], swept["conversations_personal_chat_deliver"]) == (1, 1)
        _lose_every_task()
        assert deliveries_sweep()["conversations_chat_deliver"] == 1  # swept twice: both run
        OutboxMessage.objects.filter(task__in=[CHAT_TASK, PERSONAL_CHAT_TASK]).update(dispatched_at=None)
        OutboxMessage.objects.exclude(task__in=[CHAT_TASK, PERSONAL_CHAT_TASK]).delete()
        _run_queued()

    assert len(slack.accepted) == 2  # one in the staff channel, one on the lead's own webhook
    assert ChatDelivery.objects.get().state == DeliveryState.SENT
    assert Delivery.objects.get(channel=Channel.CHAT, user=world.vendor_lead).state == DeliveryState.SENT


@pytest.mark.django_db(transaction=True)
def test_a_sweep_racing_the_original_task_mid_post_still_posts_once(world, settings, slack):
    settings.PORTICO_DELIVERY_SWEEP_AFTER_SECONDS = AGE
    PersonalChatWebhook.objects.create(user=world.pm, kind=ChatKind.SLACK, url=slack.webhook_url)
    ChannelSetting.objects.create(user=world.pm, channel=Channel.CHAT, mode=Mode.IMMEDIATE)
    event = file_request(world).events.get(kind=EventKind.FILED)
    delivery = Delivery.objects.get(event=event, user=world.pm, channel=Channel.CHAT)
    _lose_every_task()
    with _later(AGE + 5):
        assert deliveries_sweep()["conversations_personal_chat_deliver"] == 1
    swept = OutboxMessage.objects.filter(task=PERSONAL_CHAT_TASK).latest("pk")  # committed: published for real

    # The original task turns up after all and is caught mid-post.
    hold = slack.hold_next()
    results: dict[str, bool] = {}

    def original() -> None:
        try:
            results["original"] = personal_chat_deliver(delivery.pk)
        finally:
            connections.close_all()  # this thread's connection, not the test's

    thread = threading.Thread(target=original)
    thread.start()
    try:
        assert hold.arrived.wait(10)
        # Meanwhile the swept task runs, and beat sweeps again: the claim keeps both away.
        assert conversations_personal_chat_deliver.apply(kwargs=swept.kwargs).result is False
        with _later(AGE * 2):
            assert deliveries_sweep()["conversations_personal_chat_deliver"] == 0
    finally:
        hold.release()
        thread.join(timeout=15)
    assert not thread.is_alive() and results == {"original": True}
    assert len(slack.accepted) == 1 and len(slack.calls) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 1)


def test_the_sweeper_runs_on_beat():
    entry = next(e for e in app.conf.beat_schedule.values() if e["task"].endswith("conversations_deliveries_sweep"))
    assert entry["task"] in app.tasks and entry["schedule"] <= 60
