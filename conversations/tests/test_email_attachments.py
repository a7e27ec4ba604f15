"""Files in notification e-mail: a notice about an event that came with files lists each one (name, size, a link
to the portal's download, which checks who asks) and attaches the files while they total at most
PORTICO_MAIL_ATTACH_MAX_BYTES; an internal note's files never reach the requester. Sent through Django's real
SMTP backend to the stub SMTP server, and read back as the recipient's mail client would."""

from __future__ import annotations

import base64
from email.message import Message
from pathlib import Path

import pytest
from django.test import Client

from attachments.models import AttachmentSource
from attachments.services import attachment_add
from conversations.emails import notice_email
from conversations.models import Channel, Delivery, DeliveryState
from conversations.tasks import conversations_notify
from conversations.watchers import watch
from inbound.services import mail_receive
from portal.testing.smtp import Refusal, SmtpStub
from requests_app import services
from requests_app.choices import EventKind, RequestState
from requests_app.testing.workflow import walk_to

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 40 + b"%%EOF\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def smtp(settings):
    with SmtpStub() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 5
        yield server


def mailed_to(smtp: SmtpStub, address: str) -> list[Message]:
    return [d.message for d in smtp.deliveries if d.recipients == [address]]


def text_parts(message: Message) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() in {"text/plain", "text/html"} and part.get_filename() is None
    }


def files_of(message: Message) -> dict[str, tuple[str, bytes]]:
    """The attached files as a mail client saves them: name -> (type, bytes)."""
    return {
        part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
        for part in message.walk()
        if part.get_filename() is not None
    }


def comment_with_files(service_request, actor, *files: tuple[str, bytes], internal: bool = False, body: str = ""):
    comment = services.request_comment(
        service_request, actor=actor, body=body or "Screenshot of the crash attached.", internal=internal
    )
    attachments = [
        attachment_add(service_request, actor=actor, filename=name, content=content, event=comment, internal=internal)
        for name, content in files
    ]
    return comment, attachments


def test_a_comment_with_a_file_reaches_the_assignee_with_the_file_attached(world, smtp, settings):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    comment, [attachment] = comment_with_files(service_request, world.requester, ("crash.png", PNG))

    result = conversations_notify.apply(kwargs={"event_id": comment.pk})

    assert result.successful(), result.traceback
    [message] = mailed_to(smtp, world.vendor_engineer.email)  # the assignee
    assert message.get_content_type() == "multipart/mixed"
    assert files_of(message) == {"crash.png": ("image/png", PNG)}  # the very bytes that were uploaded
    path = f"/requests/{service_request.reference}/attachments/{attachment.pk}/"
    link = settings.PORTAL_BASE_URL + path
    parts = text_parts(message)
    assert set(parts) == {"text/plain", "text/html"}
    assert f"- crash.png (1.0\xa0KB): {link}" in parts["text/plain"]
    assert "They are attached to this e-mail" in parts["text/plain"]
    assert f'<a href="{link}">crash.png</a> (1.0\xa0KB)' in parts["text/html"]
    # The link is the portal's download: it answers only someone who may see the request.
    engineer, other_vendor = Client(), Client()
    engineer.force_login(world.vendor_engineer)
    other_vendor.force_login(world.other_vendor_engineer)
    assert b"".join(engineer.get(path).streaming_content) == PNG
    assert other_vendor.get(path).status_code == 404


def test_files_over_the_cap_are_linked_and_not_attached(world, smtp, settings):
    settings.PORTICO_MAIL_ATTACH_MAX_BYTES = len(PNG) + len(PDF) - 1  # each fits; together they do not
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    comment, attachments = comment_with_files(service_request, world.requester, ("crash.png", PNG), ("log.pdf", PDF))

    conversations_notify.apply(kwargs={"event_id": comment.pk})

    [message] = mailed_to(smtp, world.vendor_engineer.email)
    assert files_of(message) == {}
    parts = text_parts(message)
    for attachment in attachments:
        link = f"/requests/{service_request.reference}/attachments/{attachment.pk}/"
        assert link in parts["text/plain"] and f'href="{settings.PORTAL_BASE_URL}{link}"' in parts["text/html"]
    for part in parts.values():
        assert "Together they are larger than" in part and "so they are not attached" in part


def test_files_exactly_at_the_cap_are_attached(world, smtp, settings):
    settings.PORTICO_MAIL_ATTACH_MAX_BYTES = len(PNG) + len(PDF)
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    comment, _ = comment_with_files(service_request, world.requester, ("crash.png", PNG), ("log.pdf", PDF))

    conversations_notify.apply(kwargs={"event_id": comment.pk})

    [message] = mailed_to(smtp, world.vendor_engineer.email)
    assert files_of(message) == {"crash.png": ("image/png", PNG), "log.pdf": ("application/pdf", PDF)}


def test_an_internal_notes_files_never_reach_the_requester(world, smtp):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    watch(service_request, world.requester)  # watching the request does not open its internal notes
    note, _ = comment_with_files(
        service_request, world.vendor_lead, ("internal.png", PNG), internal=True, body="@asha our side only"
    )

    conversations_notify.apply(kwargs={"event_id": note.pk})

    [to_assignee] = mailed_to(smtp, world.vendor_engineer.email)
    assert files_of(to_assignee) == {"internal.png": ("image/png", PNG)}
    assert mailed_to(smtp, world.requester.email) == []
    assert not Delivery.objects.filter(event=note, user=world.requester).exists()
    # Even a message built for the requester by mistake would carry neither the file nor its link.
    built = notice_email(note, world.requester, first_in_thread=False).message()
    assert files_of(built) == {} and "internal.png" not in built.as_string()


def test_a_retry_rebuilds_the_same_message_and_sends_it_once(world, smtp):
    smtp.refuse[world.vendor_engineer.email] = Refusal(451, "4.7.1 Greylisted, try again later", times=1)
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    comment, _ = comment_with_files(service_request, world.requester, ("crash.png", PNG))

    result = conversations_notify.apply(kwargs={"event_id": comment.pk})

    assert result.successful(), result.traceback
    [message] = mailed_to(smtp, world.vendor_engineer.email)  # refused once, then delivered once
    assert files_of(message) == {"crash.png": ("image/png", PNG)}
    delivery = Delivery.objects.get(event=comment, user=world.vendor_engineer, channel=Channel.EMAIL)
    assert (delivery.state, delivery.attempts, delivery.message_id) == (
        DeliveryState.SENT, 2, message["Message-ID"],
    )  # fmt: skip
    assert conversations_notify.apply(kwargs={"event_id": comment.pk}).result == 0
    assert len(mailed_to(smtp, world.vendor_engineer.email)) == 1


def test_a_file_that_cannot_be_read_fails_the_attempt_and_is_retried(world, smtp, media):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    comment, [attachment] = comment_with_files(service_request, world.requester, ("crash.png", PNG))
    stored = media / attachment.file.name
    stored.rename(stored.with_suffix(".away"))  # storage loses the file for a moment

    from conversations.delivery import notify

    with pytest.raises(FileNotFoundError):
        notify(comment)
    delivery = Delivery.objects.get(event=comment, user=world.vendor_engineer, channel=Channel.EMAIL)
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)  # counted, owed again
    assert mailed_to(smtp, world.vendor_engineer.email) == []

    stored.with_suffix(".away").rename(stored)
    assert notify(comment) == 1
    [message] = mailed_to(smtp, world.vendor_engineer.email)
    assert files_of(message) == {"crash.png": ("image/png", PNG)}


def test_a_request_filed_by_e_mail_with_a_file_tells_the_program_manager_with_the_file(world, smtp):
    raw = (
        b"From: Asha <asha@example.test>\r\nTo: portico+punjab.troubleshooting.p2@localhost\r\n"
        b"Subject: Pods crash-looping\r\nMessage-ID: <one@example.test>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nThey restart every minute.\r\n"
        b'--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename="crash.png"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
    )
    raw += base64.encodebytes(PNG).replace(b"\n", b"\r\n") + b"--b--\r\n"
    record = mail_receive(raw, recipients=["portico+punjab.troubleshooting.p2@localhost"]).record
    assert record is not None and record.service_request is not None
    filed = record.service_request.events.get(kind=EventKind.FILED)
    assert record.service_request.attachments.get().source == AttachmentSource.EMAIL

    conversations_notify.apply(kwargs={"event_id": filed.pk})

    [message] = mailed_to(smtp, world.pm.email)  # the program manager hears of every filing
    assert files_of(message) == {"crash.png": ("image/png", PNG)}
