"""The e-mail about one notice: subject, plain text and HTML parts, and the headers that thread it per request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from portal.mail import mail_header_text
from requests_app.models import RequestEvent

from .addresses import message_id, reply_address, thread_root_id
from .matrix import MATRIX, notice_for

if TYPE_CHECKING:
    from portal.models import User


def request_link(reference: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("request-detail", args=[reference])


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


def notice_email(event: RequestEvent, user: User, *, first_in_thread: bool) -> EmailMultiAlternatives:
    """The message telling `user` about `event`, threaded under the request's root id."""
    service_request = event.service_request
    reference = service_request.reference or ""
    context = {
        "event": event,
        "service_request": service_request,
        "subject": notice_subject(event),
        "link": request_link(reference),
        "settings_link": settings.PORTAL_BASE_URL.rstrip("/") + reverse("notification-settings"),
    }
    headers = {"Auto-Submitted": "auto-generated", "X-Portico-Request": reference}
    root = thread_root_id(reference)
    if first_in_thread:
        headers["Message-ID"] = root
    else:
        headers["Message-ID"] = message_id(reference, event.pk, user.pk)
        headers["In-Reply-To"] = root
        headers["References"] = root
    message = EmailMultiAlternatives(
        subject=context["subject"],
        body=render_to_string("conversations/email/notice.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        reply_to=[reply_address(reference, user.pk)],
        headers=headers,
    )
    message.attach_alternative(render_to_string("conversations/email/notice.html", context), "text/html")
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
