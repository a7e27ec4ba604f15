"""Notifications reach people whatever a user typed, and a failed send is retried with backoff — boundedly, and
not at all when the server refused the address for good. The SMTP cases run Django's real SMTP backend against a
stub server on a socket (`portal.testing.smtp`); the policy runs through Celery's own retry machinery via
`Task.apply()`, which replays the retries at once instead of waiting out the backoff."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import OperationalError

from conversations.emails import notice_subject
from conversations.models import Channel, DeliveryState
from conversations.tasks import conversations_notify as request_notify_task
from portal.mail import MAIL_TASK_RETRY, MailRefused, mail_header_text
from portal.testing.mail import FailingBackend
from portal.testing.smtp import Refusal, SmtpStub
from reports.models import WeeklyReportEmail
from reports.tasks import report_weekly_email as report_weekly_email_task
from requests_app.choices import EventKind
from requests_app.testing.workflow import file_request

pytestmark = pytest.mark.django_db
TITLE = "Disk full\r\nBcc: everyone@evil.example\n\nsee\tbody\u2028now"
ATTEMPTS = MAIL_TASK_RETRY["max_retries"] + 1


def _filed_event(world, **overrides):
    return file_request(world, **overrides).events.get(kind=EventKind.FILED)


@pytest.fixture
def smtp(settings):
    with SmtpStub() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 5
        yield server


@pytest.fixture
def failing_backend(settings):
    settings.EMAIL_BACKEND = "portal.testing.mail.FailingBackend"
    yield FailingBackend
    FailingBackend.script()


# --- header text -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Disk full\r\nBcc: x@evil.example", "Disk full Bcc: x@evil.example"),
        ("a\nb\rc\x00d\x0be\x85f\u2028g\u2029h", "a b c d e f g h"),
        ("  tabs\t\tand   spaces  ", "tabs and spaces"),
        ("नमस्ते दुनिया", "नमस्ते दुनिया"),  # joiners and combining marks of Indian scripts stay
    ],
)
def test_header_text_is_one_clean_line(text, expected):
    assert mail_header_text(text) == expected


def test_header_text_is_capped_with_an_ellipsis():
    assert mail_header_text("x" * 500, max_length=50) == "x" * 49 + "…"
    assert len(mail_header_text("word " * 100)) == 200


def test_a_title_with_line_breaks_is_delivered_with_a_clean_subject(world):
    event = _filed_event(world, title=TITLE)
    mail.outbox.clear()

    sent = request_notify_task(event_id=event.pk)

    assert sent == 1
    [message] = mail.outbox
    reference = event.service_request.reference
    assert message.subject == f"{reference} filed: Disk full Bcc: everyone@evil.example see body now"
    assert message.to == [world.pm.email] and message.bcc == []
    headers = message.message()
    assert headers["Bcc"] is None and "\n" not in headers["Subject"]
    assert notice_subject(event) == message.subject  # the in-portal list shows the same line


def test_a_line_break_in_a_title_reaches_a_real_smtp_server_as_one_header(world, smtp):
    event = _filed_event(world, title=TITLE)

    result = request_notify_task.apply(kwargs={"event_id": event.pk})

    assert result.successful(), result.traceback
    [delivery] = smtp.deliveries
    assert delivery.recipients == [world.pm.email]
    assert delivery.message["Bcc"] is None
    assert delivery.message["Subject"].endswith("filed: Disk full Bcc: everyone@evil.example see body now")


# --- retries ---------------------------------------------------------------------------------------------------
def test_an_address_refused_for_good_fails_once_and_is_not_retried(world, smtp):
    smtp.refuse[world.pm.email] = Refusal(550, "5.1.1 No such user")
    event = _filed_event(world)

    result = request_notify_task.apply(kwargs={"event_id": event.pk})

    assert result.failed() and isinstance(result.result, MailRefused)
    assert "No such user" in str(result.result)
    assert smtp.connections == 1 and smtp.deliveries == []


def test_an_address_refused_for_now_is_retried_and_then_delivered(world, smtp):
    smtp.refuse[world.pm.email] = Refusal(451, "4.7.1 Greylisted, try again later", times=2)
    smtp.busy_connections = 1
    event = _filed_event(world)

    result = request_notify_task.apply(kwargs={"event_id": event.pk})

    assert result.successful(), result.traceback
    assert smtp.connections == 4  # busy (421), greylisted twice (451), delivered
    assert [d.recipients for d in smtp.deliveries] == [[world.pm.email]]
    assert event.deliveries.get(user=world.pm, channel=Channel.EMAIL).state == DeliveryState.SENT


def test_a_server_that_stays_down_is_retried_a_bounded_number_of_times(world, smtp):
    smtp.busy_connections = 1000
    event = _filed_event(world)

    result = request_notify_task.apply(kwargs={"event_id": event.pk})

    assert result.failed()
    assert smtp.connections == ATTEMPTS
    delivery = event.deliveries.get(user=world.pm, channel=Channel.EMAIL)
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, ATTEMPTS)  # listed for the PM
    assert "SMTP" in delivery.last_error


def test_a_failure_that_is_not_a_socket_error_is_retried_too(world, failing_backend):
    failing_backend.script(OperationalError("server closed the connection unexpectedly"), RuntimeError("hiccup"))
    event = _filed_event(world)
    mail.outbox.clear()

    result = request_notify_task.apply(kwargs={"event_id": event.pk})

    assert result.successful(), result.traceback
    assert failing_backend.attempts == 3 and len(mail.outbox) == 1


def test_retries_back_off_and_stay_under_the_visibility_timeout(settings):
    assert request_notify_task.retry_backoff == 30 and request_notify_task.retry_jitter
    assert MAIL_TASK_RETRY["retry_backoff_max"] < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]


def test_the_weekly_report_e_mail_is_retried_the_same_way(world, settings, failing_backend):
    settings.PORTICO_REPORT_RECIPIENTS = ["pm@example.test"]
    failing_backend.script(OperationalError("connection reset"))

    result = report_weekly_email_task.apply()

    assert result.successful(), result.traceback
    assert failing_backend.attempts == 2 and len(mail.outbox) == 1
    assert WeeklyReportEmail.objects.count() == 1
