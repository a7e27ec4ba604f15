"""A page's e-mail is a conversations e-mail delivery owed in the paging transaction: sent once per (event, person),
retried with backoff after a 4xx or a refused connection, failed at once on a 5xx, listed for the program manager;
and escalation never waits for it. Sent through Django's real SMTP backend to the stub SMTP server on a socket
(`portal.testing.smtp`), which answers 451 or 550 as scripted; a stopped stub's port refuses connections."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.urls import reverse

from conversations.delivery import NOTIFY_TASK, notify
from conversations.models import Channel, ChannelSetting, Delivery, DeliveryState, Mode
from conversations.tasks import conversations_notify
from incidents.models import Page, PageLevel
from incidents.paging import ack_token, page_deliver, pages_escalate
from incidents.testing import SMS_TOKEN, SmsStub
from incidents.tests.helpers import urgent
from portal.mail import MailRefused
from portal.models import OutboxMessage
from portal.testing.smtp import Refusal, SmtpStub
from requests_app.choices import EventKind

pytestmark = pytest.mark.django_db


def _point_mail_at(settings, host: str, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = host, port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp(settings):
    with SmtpStub() as server:
        _point_mail_at(settings, server.host, server.port)
        yield server


def _page_mail(smtp: SmtpStub, address: str) -> list:
    return [d.message for d in smtp.deliveries if d.recipients == [address] and d.message["Subject"].startswith("PAGE")]


def _trouble(client, world) -> str:
    client.force_login(world.pm)
    return client.get(reverse("notification-deliveries")).content.decode()


def test_a_page_e_mail_refused_for_now_is_retried_and_delivered_once(world, rota, traveller, smtp, client):
    engineer = world.vendor_engineer
    smtp.refuse[engineer.email] = Refusal(451, "4.7.1 Greylisted, try again later", times=1)
    service_request = urgent(world)
    paged = service_request.events.get(kind=EventKind.PAGED)
    page = service_request.pages.get()
    delivery = Delivery.objects.get(event=paged, user=engineer, channel=Channel.EMAIL)
    assert delivery.message["subject"] == f"PAGE [P0] {service_request.reference}: Down"
    assert OutboxMessage.objects.filter(task=NOTIFY_TASK, kwargs={"event_id": paged.pk}).exists()

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        notify(paged)  # the first try, as the task's first run makes it: Celery retries the task with backoff

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1) and "451" in delivery.last_error
    trouble = _trouble(client, world)
    assert str(service_request.reference) in trouble and "On call paged" in trouble and "Greylisted" in trouble
    assert _page_mail(smtp, engineer.email) == []

    result = conversations_notify.apply(kwargs={"event_id": paged.pk})

    assert result.successful(), result.traceback
    [message] = _page_mail(smtp, engineer.email)
    assert message["Subject"] == f"PAGE [P0] {service_request.reference}: Down"
    assert ack_token(page) in message.get_payload() and "you are paged as primary on call" in message.get_payload()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == (DeliveryState.SENT, 2, "")
    assert conversations_notify.apply(kwargs={"event_id": paged.pk}).result == 0  # a redelivered task
    assert len(_page_mail(smtp, engineer.email)) == 1
    assert str(service_request.reference) not in _trouble(client, world)


def test_a_page_e_mail_refused_for_good_fails_at_once_is_shown_and_not_retried(world, rota, traveller, smtp, client):
    engineer = world.vendor_engineer
    smtp.refuse[engineer.email] = Refusal(550, "5.1.1 No such user")
    service_request = urgent(world)
    paged = service_request.events.get(kind=EventKind.PAGED)

    result = conversations_notify.apply(kwargs={"event_id": paged.pk})

    assert result.failed() and isinstance(result.result, MailRefused)
    assert smtp.connections == 1 and _page_mail(smtp, engineer.email) == []
    delivery = Delivery.objects.get(event=paged, user=engineer, channel=Channel.EMAIL)
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 1) and "No such user" in delivery.last_error
    trouble = _trouble(client, world)
    assert str(service_request.reference) in trouble and "No such user" in trouble and "Failed" in trouble

    assert conversations_notify.apply(kwargs={"event_id": paged.pk}).result == 0
    assert smtp.connections == 1  # nothing owed any more: the server is not asked again


def test_paging_escalates_on_time_and_texts_while_mail_is_down(world, rota, traveller, settings, smtp):
    with SmtpStub() as gone:
        closed = (gone.host, gone.port)  # the server stops here: its port refuses connections
    _point_mail_at(settings, *closed)
    with SmsStub() as sms:
        settings.PORTICO_SMS_URL, settings.PORTICO_SMS_TOKEN = sms.url, SMS_TOKEN
        service_request = urgent(world)
        page = service_request.pages.get()
        paged = service_request.events.get(kind=EventKind.PAGED)

        with pytest.raises(ConnectionRefusedError):
            notify(paged)
        assert page_deliver(page.pk) == "SMS"  # the mail outage does not stop the text
        assert [m["to"] for m in sms.messages] == ["+919800000001"]

    delivery = Delivery.objects.get(event=paged, channel=Channel.EMAIL)
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
    assert "ConnectionRefusedError" in delivery.last_error
    traveller.shift(timedelta(minutes=14))
    assert pages_escalate() == 0
    traveller.shift(timedelta(minutes=2))
    assert pages_escalate() == 1  # on time, with the primary's e-mail still unsent
    secondary = service_request.pages.get(level=PageLevel.SECONDARY)
    page.refresh_from_db()
    assert secondary.target == world.vendor_lead and page.escalated_at is not None

    _point_mail_at(settings, smtp.host, smtp.port)  # mail is back
    escalated = service_request.events.get(kind=EventKind.PAGE_ESCALATED)
    assert conversations_notify.apply(kwargs={"event_id": paged.pk}).successful()
    assert conversations_notify.apply(kwargs={"event_id": escalated.pk}).successful()
    assert len(_page_mail(smtp, world.vendor_engineer.email)) == 1
    [to_lead] = _page_mail(smtp, world.vendor_lead.email)
    assert ack_token(secondary) in to_lead.get_payload()
    assert Page.objects.filter(service_request=service_request).count() == 2


def test_a_page_rolled_back_owes_no_e_mail(world, rota, traveller):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        urgent(world)
        assert Delivery.objects.filter(event__kind=EventKind.PAGED, channel=Channel.EMAIL).count() == 1
        raise RuntimeError("the paging transaction fails")

    assert not Page.objects.exists()
    assert not Delivery.objects.filter(event__kind=EventKind.PAGED).exists()


def test_a_page_e_mail_is_owed_now_whatever_the_person_chose_for_notices(world, rota, traveller):
    ChannelSetting.objects.create(user=world.vendor_engineer, channel=Channel.EMAIL, mode=Mode.DIGEST)
    ChannelSetting.objects.create(user=world.vendor_lead, channel=Channel.EMAIL, mode=Mode.OFF)
    service_request = urgent(world)
    traveller.shift(timedelta(minutes=16))
    assert pages_escalate() == 1

    owed = Delivery.objects.filter(
        event__service_request=service_request, channel=Channel.EMAIL, message__has_key="body"
    )
    assert sorted(owed.values_list("user__username", "state", "batch")) == sorted(
        [
            (world.vendor_engineer.username, DeliveryState.PENDING, ""),
            (world.vendor_lead.username, DeliveryState.PENDING, ""),
        ]
    )
