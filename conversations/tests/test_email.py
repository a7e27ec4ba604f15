"""Notification e-mail: one thread per request, a signed reply address per request and person, plain text and
HTML, headers safe from user text, and delivery at most once even when the worker dies between sending and
recording it. Sent through Django's real SMTP backend to the stub SMTP server on a socket."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from conversations import delivery as delivery_module
from conversations.addresses import (
    ReplyTo,
    ThreadRef,
    message_id,
    parse_message_id,
    parse_reply_address,
    reply_address,
    thread_root_id,
)
from conversations.delivery import notify
from conversations.models import Channel, Delivery, DeliveryState
from conversations.tasks import conversations_notify
from portal.testing.smtp import SmtpStub
from requests_app import services
from requests_app.choices import EventKind
from requests_app.testing.workflow import file_request

pytestmark = pytest.mark.django_db
TITLE = "Disk full\r\nBcc: everyone@evil.example\r\n\r\n<b>body</b>"


@pytest.fixture
def smtp(settings):
    with SmtpStub() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 5
        yield server


# --- addresses ---------------------------------------------------------------------------------------------
@override_settings(PORTICO_MAIL_INTAKE_ADDRESS="portico@mail.example.org", PORTICO_MAIL_DOMAIN="")
def test_a_reply_address_names_its_request_and_person_and_cannot_be_forged():
    address = reply_address("REQ-000123", 42)

    assert address.startswith("portico+REQ-000123.42.") and address.endswith("@mail.example.org")
    assert parse_reply_address(address) == ReplyTo("REQ-000123", 42)
    assert parse_reply_address(f"Asha <{address.upper()}>") == ReplyTo("REQ-000123", 42)  # display name, any case
    signature = address.split("@")[0].rsplit(".", 1)[1]
    assert parse_reply_address(f"portico+REQ-000124.42.{signature}@mail.example.org") is None  # another request
    assert parse_reply_address(f"portico+REQ-000123.43.{signature}@mail.example.org") is None  # another person
    assert parse_reply_address(address.replace("mail.example.org", "evil.example")) is None
    assert parse_reply_address("portico@mail.example.org") is None
    assert parse_reply_address("not an address") is None


@override_settings(PORTICO_MAIL_INTAKE_ADDRESS="portico@mail.example.org", PORTICO_MAIL_DOMAIN="threads.example.org")
def test_message_ids_use_the_stable_domain_and_parse_back():
    assert thread_root_id("REQ-000123") == "<REQ-000123@threads.example.org>"
    assert parse_message_id(thread_root_id("REQ-000123")) == ThreadRef("REQ-000123", None, None)
    assert parse_message_id(message_id("REQ-000123", 7, 42)) == ThreadRef("REQ-000123", 7, 42)
    assert parse_message_id("<REQ-000123@elsewhere.example>") is None
    assert parse_message_id("<abc@threads.example.org>") is None


# --- threading and parts -------------------------------------------------------------------------------------
def test_one_thread_per_request_with_text_and_html_parts(world, smtp):
    service_request = file_request(world)
    conversations_notify.apply(kwargs={"event_id": service_request.events.get(kind=EventKind.FILED).pk})
    services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
    # The mention makes the PM a watcher, so the comment is the second message the PM gets about this request.
    comment = services.request_comment(service_request, actor=world.requester, body="Also @pm, see the logs")
    conversations_notify.apply(kwargs={"event_id": comment.pk})

    to_pm = [d.message for d in smtp.deliveries if d.recipients == [world.pm.email]]
    assert len(to_pm) == 2
    first, second = to_pm
    root = thread_root_id(service_request.reference)
    assert first["Message-ID"] == root and first["In-Reply-To"] is None
    assert second["Message-ID"] == message_id(service_request.reference, comment.pk, world.pm.pk)
    assert second["In-Reply-To"] == root and second["References"] == root
    assert parse_reply_address(second["Reply-To"]) == ReplyTo(service_request.reference, world.pm.pk)
    assert second["Auto-Submitted"] == "auto-generated"
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in second.walk()
        if not part.is_multipart()
    }
    assert set(parts) == {"text/plain", "text/html"}
    assert "Also @pm, see the logs" in parts["text/plain"]
    assert reverse("request-detail", args=[service_request.reference]) in parts["text/html"]


def test_a_title_with_line_breaks_and_markup_is_one_header_line_and_escaped_html(world, smtp):
    event = file_request(world, title=TITLE).events.get(kind=EventKind.FILED)

    result = conversations_notify.apply(kwargs={"event_id": event.pk})

    assert result.successful(), result.traceback
    [delivery] = smtp.deliveries
    message = delivery.message
    assert delivery.recipients == [world.pm.email] and message["Bcc"] is None
    assert message["Subject"].endswith("filed: Disk full Bcc: everyone@evil.example <b>body</b>")
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert "<b>body</b>" not in html and "&lt;b&gt;body&lt;/b&gt;" in html


# --- at most once ------------------------------------------------------------------------------------------
class WorkerDied(BaseException):
    """What a killed worker looks like from inside: nothing after this line runs, no handler catches it."""


def test_a_crash_between_sending_and_recording_never_sends_twice(world, smtp, monkeypatch):
    event = file_request(world).events.get(kind=EventKind.FILED)

    def die(delivery):
        raise WorkerDied

    monkeypatch.setattr(delivery_module, "_mark_sent", die)
    with pytest.raises(WorkerDied):
        notify(event)
    assert len(smtp.deliveries) == 1  # the message left before the worker died
    monkeypatch.undo()

    # The broker redelivers the task (acks_late), and the sweeper may enqueue it again: neither resends.
    assert conversations_notify.apply(kwargs={"event_id": event.pk}).result == 0
    assert notify(event) == 0
    assert len(smtp.deliveries) == 1
    row = Delivery.objects.get(event=event, user=world.pm, channel=Channel.EMAIL)
    assert row.state == DeliveryState.SENDING and row.attempts == 1  # claimed, outcome unknown: shown to the PM


def test_the_unique_key_owes_each_notice_once(world):
    event = file_request(world).events.get(kind=EventKind.FILED)
    from conversations.delivery import plan

    plan(event)
    plan(event)

    assert Delivery.objects.filter(event=event, user=world.pm, channel=Channel.EMAIL).count() == 1
    mail.outbox.clear()
    assert notify(event) == 1 and notify(event) == 0 and len(mail.outbox) == 1


def test_a_notification_queued_under_the_old_task_name_still_runs(world, smtp):
    """A message the previous release queued as requests_app.tasks.request_notify is delivered after upgrade."""
    from portal.celery import app

    event = file_request(world).events.get(kind=EventKind.FILED)

    result = app.tasks["requests_app.tasks.request_notify"].apply(kwargs={"event_id": event.pk})

    assert result.successful(), result.traceback
    assert [d.recipients for d in smtp.deliveries] == [[world.pm.email]]
