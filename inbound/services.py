"""E-mail in: one received message becomes a filed request, a comment, a bounce, or a recorded drop.

Both deliveries (the `mail_intake` pipe and the LMTP/SMTP listener) call `mail_receive` and translate its outcome:
exit codes from sysexits for the pipe, an SMTP reply for the listener. Whatever happens, the message is recorded as
an `InboundMessage` with its raw bytes in storage, so the program manager can review what was bounced or dropped.
Filing and commenting go through the request services, so visibility, validation and the timeline apply as on
the web; the sender is the portal user with that e-mail address, and acts with exactly that user's rights.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.db import DatabaseError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from attachments.models import AttachmentSource
from attachments.services import attachment_add
from portal.exceptions import PortalError, ServiceUnavailable
from portal.mail import mail_header_text
from requests_app import services as request_services
from requests_app.choices import EventKind, Priority, RequestType
from requests_app.models import Environment, RequestEvent, ServiceRequest

from . import addresses
from .models import InboundMessage, InboundStatus
from .parsing import MalformedMessage, ParsedMail, mail_parse
from .replies import reply_text

if TYPE_CHECKING:
    from portal.models import User

logger = logging.getLogger(__name__)

# sysexits.h: what a pipe delivery tells the MTA.
EX_OK = 0
EX_DATAERR = 65
EX_NOUSER = 67
EX_TEMPFAIL = 75
# Kept of a message too large to take: enough for its headers, for the review page.
HEAD_KEPT_BYTES = 64 * 1024
DEFAULT_TYPE = RequestType.TROUBLESHOOTING
DEFAULT_PRIORITY = Priority.P3


@dataclass(frozen=True)
class IntakeOutcome:
    status: str
    exit_code: int
    smtp_reply: str
    detail: str = ""
    record: InboundMessage | None = None


class _Bounce(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def recipient_is_ours(address: str) -> bool:
    return addresses.address_detail(address) is not None


def mail_receive(
    raw: bytes, *, recipients: list[str], envelope_sender: str = "", size: int | None = None
) -> IntakeOutcome:
    """Handle one message delivered for `recipients` (the envelope's; the first of ours counts). `size` is the
    whole message's when the caller stopped reading `raw` early because it was already too large."""
    ours = [address for address in recipients if recipient_is_ours(address)]
    if not ours:
        return IntakeOutcome("unknown_recipient", EX_NOUSER, "550 5.1.1 No such mailbox here", "unknown recipient")
    recipient = ours[0]
    try:
        return _receive(
            raw, recipient=recipient, envelope_sender=envelope_sender, size=len(raw) if size is None else size
        )
    except (ServiceUnavailable, DatabaseError, OSError) as exc:
        logger.exception("mail intake failed for a message to %s", recipient)
        return IntakeOutcome("tempfail", EX_TEMPFAIL, "451 4.3.0 Temporary failure, try again later", str(exc))


def _receive(raw: bytes, *, recipient: str, envelope_sender: str, size: int) -> IntakeOutcome:
    limit = settings.PORTICO_MAIL_MAX_BYTES
    if size > limit:
        reason = f"The message is {_size(size)}; Portico takes at most {_size(limit)}."
        record = _record(raw[:HEAD_KEPT_BYTES], size=size, status=InboundStatus.REFUSED, reason=reason,
                         sender=envelope_sender, recipient=recipient)  # fmt: skip
        return IntakeOutcome(record.status, EX_DATAERR, f"552 5.3.4 {reason}", reason, record)
    try:
        mail = mail_parse(raw)
    except MalformedMessage as exc:
        reason = f"Malformed message: {exc}."
        record = _record(raw, status=InboundStatus.REFUSED, reason=reason, sender=envelope_sender, recipient=recipient)
        return IntakeOutcome(record.status, EX_DATAERR, f"554 5.6.0 {reason}", reason, record)

    dropped = _drop_reason(mail, envelope_sender)
    if dropped:
        record = _record(raw, mail=mail, status=InboundStatus.DROPPED, reason=dropped, recipient=recipient)
        return IntakeOutcome(
            record.status, EX_OK, "250 2.0.0 Accepted and dropped (automatic message)", dropped, record
        )

    try:
        with transaction.atomic():
            record = _act(raw, mail, recipient=recipient)
    except _Bounce as bounce:
        reason = bounce.reason
        bounced = _record(raw, mail=mail, status=InboundStatus.BOUNCED, reason=reason, recipient=recipient)
        _bounce_send(mail, envelope_sender=envelope_sender, recipient=recipient, reason=reason)
        return IntakeOutcome(bounced.status, EX_OK, "250 2.0.0 Accepted; a bounce explains why", reason, bounced)
    return IntakeOutcome(record.status, EX_OK, f"250 2.0.0 {record.get_status_display()}", record.reason, record)


def _size(count: int) -> str:
    # filesizeformat joins with a no-break space, which has no place in an SMTP reply (ASCII only).
    return str(filesizeformat(count)).replace("\xa0", " ")


def _drop_reason(mail: ParsedMail, envelope_sender: str) -> str:
    if envelope_sender.strip("<>") == "" and envelope_sender != "":
        return "a delivery report (null envelope sender)"
    if mail.automatic:
        return f"automatic message ({mail.automatic})"
    _, _, id_domain = mail.message_id.strip("<>").rpartition("@")
    if id_domain and id_domain.lower() in addresses.own_domains():
        return "one of Portico's own messages came back (Message-ID domain)"
    since = timezone.now() - timedelta(hours=1)
    recent = InboundMessage.objects.filter(sender=mail.sender, created_at__gte=since).count()
    if recent >= settings.PORTICO_MAIL_RATE_PER_HOUR:
        return f"rate limit: {recent} messages from this sender in the last hour"
    return ""


def _sender_user(mail: ParsedMail) -> User:
    users = list(get_user_model().objects.filter(email__iexact=mail.sender, is_active=True)[:2])
    if len(users) != 1:
        raise _Bounce(
            f"{mail.sender} is not the e-mail address of a Portico user, so Portico cannot tell who sent this. "
            "Send it from the address on your Portico account, or use the portal."
        )
    return users[0]


def _act(raw: bytes, mail: ParsedMail, *, recipient: str) -> InboundMessage:
    """File or comment as the sender; raise _Bounce with the reason to tell them when it cannot be done."""
    user = _sender_user(mail)
    detail = addresses.address_detail(recipient) or ""
    target: ServiceRequest | None = None
    if addresses.looks_like_reply(detail):
        target = addresses.request_for_reply_address(recipient)
        if target is None:
            raise _Bounce(f"{recipient} is not a valid reply address of a Portico request.")
    else:
        target = addresses.request_for_references(mail.in_reply_to, mail.references)
    try:
        if target is not None:
            return _comment(raw, mail, user=user, service_request=target, recipient=recipient)
        return _file(raw, mail, user=user, detail=detail, recipient=recipient)
    except ServiceUnavailable:
        raise
    except PortalError as exc:
        raise _Bounce(_portal_reason(exc)) from exc


def _portal_reason(exc: PortalError) -> str:
    fields = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in exc.fields.items())
    return f"{exc.message}{(' (' + fields + ')') if fields else ''}"


def _comment(
    raw: bytes, mail: ParsedMail, *, user: User, service_request: ServiceRequest, recipient: str
) -> InboundMessage:
    body = reply_text(mail.text)
    if not body and mail.attachments:
        body = "(attached by e-mail)"
    if not ServiceRequest.objects.visible_to(user).filter(pk=service_request.pk).exists():
        # The same answer for a request that does not exist: nobody learns which references are real.
        raise _Bounce(f"You cannot comment on {service_request.reference} by e-mail: it is not one of your requests.")
    event = request_services.request_comment(service_request, actor=user, body=body)
    skipped = _attach(mail, user=user, service_request=service_request, event=event)
    return _record(raw, mail=mail, status=InboundStatus.COMMENTED, reason=skipped, recipient=recipient, user=user,
                   service_request=service_request)  # fmt: skip


def _file(raw: bytes, mail: ParsedMail, *, user: User, detail: str, recipient: str) -> InboundMessage:
    codes = set(Environment.objects.values_list("code", flat=True))
    types = {value.lower(): value for value in RequestType.values}
    choice = addresses.filing_choice(detail, environments={code.lower() for code in codes}, request_types=types)
    if choice.unknown:
        raise _Bounce(f"Portico does not know {', '.join(choice.unknown)} in the address {recipient}. {_HOW_TO_FILE}")
    environment = _environment(choice.environment)
    priority, note = _mail_priority(choice.priority or DEFAULT_PRIORITY)
    description = "\n\n".join(part for part in (reply_text(mail.text) or "(no text)", note) if part)
    service_request = request_services.request_file(
        actor=user,
        title=mail.subject or "(no subject)",
        description=description[: settings.PORTICO_MAX_TEXT_LENGTH],
        request_type=choice.request_type or DEFAULT_TYPE,
        priority=priority,
        environment=environment,
        origin={
            "channel": "email",
            "message_id": mail_header_text(mail.message_id, max_length=255),
            **({"asked_priority": Priority.P4.value} if note else {}),
        },
    )
    # Kept with the filing, so the "filed" notice e-mails carry them (conversations/emails.py).
    filed = service_request.events.filter(kind=EventKind.FILED).first()
    skipped = _attach(mail, user=user, service_request=service_request, event=filed)
    return _record(raw, mail=mail, status=InboundStatus.FILED, reason=skipped, recipient=recipient, user=user,
                   service_request=service_request)  # fmt: skip


def _mail_priority(asked: str) -> tuple[str, str]:
    """The priority a mail is filed at, and a note when it is not the one asked for. A P4 is due at its needed-by
    date, which an e-mail cannot carry: it is filed as P3 and says so (as Jira intake does), rather than bounced;
    the program manager can lower it to P4 with a date at triage."""
    if asked != Priority.P4:
        return asked, ""
    return Priority.P3, (
        "Asked for P4 by e-mail; P4 work needs a needed-by date, which e-mail cannot carry, so it was filed as P3. "
        "Set a needed-by date on the request; the program manager can then lower it to P4."
    )


_HOW_TO_FILE = (
    "Write to the intake address with the environment, request type and priority after a plus sign, "
    "separated by dots, for example portico+punjab.troubleshooting.p2@… (each part may be left out when "
    "Portico has one environment; the type defaults to troubleshooting and the priority to P3; P4 needs a needed-by "
    "date, which e-mail cannot carry, so it is filed as P3)."
)


def _environment(code: str) -> Environment:
    if code:
        return Environment.objects.get(code__iexact=code)
    environments = list(Environment.objects.all()[:2])
    if len(environments) == 1:
        return environments[0]
    raise _Bounce(f"Say which environment the request is for. {_HOW_TO_FILE}")


def _attach(mail: ParsedMail, *, user: User, service_request: ServiceRequest, event: RequestEvent | None) -> str:
    """Store the message's files on the request; say which were refused (too large, wrong type)."""
    skipped: list[str] = []
    for filename, content in mail.attachments:
        try:
            attachment_add(
                service_request,
                actor=user,
                filename=filename,
                content=content,
                source=AttachmentSource.EMAIL,
                event=event,
            )
        except ServiceUnavailable:
            raise
        except PortalError as exc:
            skipped.append(f"{filename}: {exc.message}")
    return ("Attachments not kept: " + "; ".join(skipped)) if skipped else ""


def _record(
    raw: bytes,
    *,
    status: str,
    reason: str,
    recipient: str,
    mail: ParsedMail | None = None,
    sender: str = "",
    size: int | None = None,
    user: User | None = None,
    service_request: ServiceRequest | None = None,
) -> InboundMessage:
    """Keep the message: its raw bytes in storage, what became of it in the database."""
    day = timezone.now()
    stored = default_storage.save(f"inbound/{day:%Y/%m/%d}/{uuid.uuid4().hex}.eml", ContentFile(raw))
    try:
        return InboundMessage.objects.create(
            status=status,
            reason=reason,
            sender=(mail.sender if mail else sender.strip("<>"))[:254],
            recipient=recipient[:254],
            subject=mail.subject[:200] if mail else "",
            message_id=mail.message_id[:255] if mail else "",
            size=len(raw) if size is None else size,
            raw=stored,
            user=user,
            service_request=service_request,
        )
    except BaseException:
        default_storage.delete(stored)
        raise


def _bounce_send(mail: ParsedMail, *, envelope_sender: str, recipient: str, reason: str) -> None:
    """Tell the sender why, as an auto-reply (RFC 3834) so their autoresponder stays quiet."""
    to = envelope_sender.strip("<>") or mail.sender
    headers = {"Auto-Submitted": "auto-replied", "X-Portico-Bounce": "1"}
    if mail.message_id:
        headers["In-Reply-To"] = mail_header_text(mail.message_id, max_length=998)
        headers["References"] = mail_header_text(mail.message_id, max_length=998)
    body = (
        f'Portico could not accept your message "{mail.subject or "(no subject)"}" sent to {recipient}.\n\n'
        f"Why: {reason}\n\n"
        "The message has been kept for the program manager to review. Nothing was filed or commented.\n"
        f"The portal: {settings.PORTAL_BASE_URL}\n"
    )
    message = EmailMessage(
        subject=mail_header_text(f"Undelivered: {mail.subject or '(no subject)'}"),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers,
    )
    try:
        message.send()
    except Exception:  # the message is kept and listed for review either way
        logger.exception("could not send a bounce to %s", to)
