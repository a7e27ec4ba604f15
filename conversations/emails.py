"""The e-mail about one notice: subject, plain text and HTML parts, the files the event carries, and the headers
that thread it per request.

Everything in the message comes from rows that do not change once written (the event, its attachments, their
stored bytes), so a retry of a failed send rebuilds the same message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import reverse

from attachments.models import Attachment
from portal.mail import mail_header_text
from requests_app.models import RequestEvent

from .addresses import message_id, reply_address, thread_root_id
from .matrix import MATRIX, notice_for

if TYPE_CHECKING:
    from portal.models import User


def request_link(reference: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("request-detail", args=[reference])


def attachment_link(attachment: Attachment) -> str:
    """The portal's download address: it asks the reader to sign in and checks they may see the file."""
    reference = attachment.service_request.reference or ""
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("attachment-get", args=[reference, attachment.pk])


def notice_attachments(event: RequestEvent, user: User) -> list[Attachment]:
    """The files `event` came with that `user` may see: none of an event hidden from them (an internal note for
    the requester), and only what `Attachment.objects.visible_to` lets them download."""
    visible_event = RequestEvent.objects.visible_to(user).filter(pk=event.pk)
    return list(
        Attachment.objects.visible_to(user)
        .filter(event__in=visible_event)
        .select_related("service_request")
        .order_by("created_at", "pk")
    )


@dataclass(frozen=True)
class MailedFiles:
    """What a notice says about its event's files, and whether the files themselves go with it."""

    rows: list[dict[str, str]]
    attached: bool
    total: str
    cap: str


def mailed_files(attachments: list[Attachment]) -> MailedFiles:
    """Attach the files while their total stays within PORTICO_MAIL_ATTACH_MAX_BYTES; past it, links only."""
    total = sum(attachment.size for attachment in attachments)
    cap = settings.PORTICO_MAIL_ATTACH_MAX_BYTES
    rows = [{"name": a.filename, "size": filesizeformat(a.size), "link": attachment_link(a)} for a in attachments]
    return MailedFiles(rows=rows, attached=total <= cap, total=filesizeformat(total), cap=filesizeformat(cap))


def _file_bytes(attachment: Attachment) -> bytes:
    # A storage failure propagates: the delivery goes back to pending and the task's retry rebuilds the message.
    with attachment.file.open("rb") as handle:
        return handle.read()


def notice_subject(event: RequestEvent) -> str:
    """One line about `event`: the e-mail's subject and the in-portal list's text. Safe as a header."""
    service_request = event.service_request
    notice = notice_for(event) or event.kind
    template = MATRIX[notice].subject if notice in MATRIX else "{ref}: " + event.get_kind_display()
    # Titles and names are user text: a line break in one would make Django refuse the whole e-mail.
    return mail_header_text(
        template.format(
            ref=service_request.reference,
            title=service_request.title,
            vendor=service_request.vendor or "—",
            assignee=service_request.assignee or "—",
            actor=event.actor_label,
        )
    )


def notice_message_id(event: RequestEvent, user: User, *, first_in_thread: bool) -> str:
    """The first message a person gets about a request is the thread's root; later ones have their own id."""
    reference = event.service_request.reference or ""
    return thread_root_id(reference) if first_in_thread else message_id(reference, event.pk, user.pk)


def notice_email(event: RequestEvent, user: User, *, first_in_thread: bool) -> EmailMultiAlternatives:
    """The message telling `user` about `event`, threaded under the request's root id, with the event's files
    that `user` may see (attached, or only linked when they are too large together)."""
    service_request = event.service_request
    reference = service_request.reference or ""
    attachments = notice_attachments(event, user)
    files = mailed_files(attachments) if attachments else None
    context = {
        "files": files,
        "event": event,
        "service_request": service_request,
        "subject": notice_subject(event),
        "link": request_link(reference),
        "settings_link": settings.PORTAL_BASE_URL.rstrip("/") + reverse("notification-settings"),
    }
    headers = {
        "Auto-Submitted": "auto-generated",
        "X-Portico-Request": reference,
        "Message-ID": notice_message_id(event, user, first_in_thread=first_in_thread),
    }
    if not first_in_thread:
        headers["In-Reply-To"] = headers["References"] = thread_root_id(reference)
    message = EmailMultiAlternatives(
        subject=context["subject"],
        body=render_to_string("conversations/email/notice.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        reply_to=[reply_address(reference, user.pk)],
        headers=headers,
    )
    message.attach_alternative(render_to_string("conversations/email/notice.html", context), "text/html")
    if files is not None and files.attached:
        for attachment in attachments:
            message.attach(attachment.filename, _file_bytes(attachment), attachment.content_type)
    return message


def batch_email(user: User, events: list[RequestEvent], *, title: str) -> EmailMultiAlternatives:
    """One message listing several notices: the daily digest, or the catch-up summary after downtime."""
    rows = [{"subject": notice_subject(e), "link": request_link(e.service_request.reference or "")} for e in events]
    context = {"title": title, "rows": rows}
    message = EmailMultiAlternatives(
        subject=mail_header_text(title),
        body=render_to_string("conversations/email/batch.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string("conversations/email/batch.html", context), "text/html")
    return message


def fixed_email(event: RequestEvent, user: User, message: dict[str, str], *, message_id: str) -> EmailMessage:
    """A message fixed when its delivery was planned (a page: `{"subject", "body"}`), sent as written then, so a
    retry sends the same words and the same acknowledge link. Its own id, outside the request's notice thread."""
    return EmailMessage(
        subject=mail_header_text(message["subject"]),
        body=message["body"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={
            "Auto-Submitted": "auto-generated",
            "X-Portico-Request": event.service_request.reference or "",
            "Message-ID": message_id,
        },
    )
