"""Reading one RFC 5322 message: who sent it, what it answers, its text, its files, and whether a robot wrote it."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr

from django.utils.html import strip_tags

from portal.mail import mail_header_text


class MalformedMessage(Exception):
    """The bytes are not a message we can answer: no sender address, or no headers at all."""


@dataclass
class ParsedMail:
    sender: str
    subject: str
    message_id: str
    in_reply_to: str
    references: str
    text: str
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    automatic: str = ""  # why it looks machine-sent (empty: a person wrote it)


_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@localhost$")


def mail_parse(raw: bytes) -> ParsedMail:
    """Parse `raw`; raise MalformedMessage when it has no usable From address."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the parser is lenient; anything it still refuses is not mail
        raise MalformedMessage(f"unreadable message: {exc}") from exc
    if not isinstance(message, EmailMessage):  # the default policy always makes one; this tells mypy
        raise MalformedMessage("unreadable message")
    try:
        _, sender = parseaddr(str(message.get("From", "")))
    except Exception:
        sender = ""
    if not sender or not _ADDRESS.match(sender):
        raise MalformedMessage("the message has no valid From address")
    return ParsedMail(
        sender=sender.lower(),
        subject=mail_header_text(_header(message, "Subject")),
        message_id=_header(message, "Message-ID").strip(),
        in_reply_to=_header(message, "In-Reply-To"),
        references=_header(message, "References"),
        text=_body_text(message),
        attachments=_attachments(message),
        automatic=_automatic(message),
    )


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except Exception:  # a header the policy cannot decode is as good as absent
        return ""


def _automatic(message: EmailMessage) -> str:
    """RFC 3834 and the common conventions autoresponders and list servers use."""
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        value = _header(message, name).strip()
        if value and not (name == "X-Auto-Response-Suppress" and value.lower() in {"none", ""}):
            return f"{name}: {value}"
    if _header(message, "List-Id") or _header(message, "List-Unsubscribe"):
        return "a mailing list message"
    return ""


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if part.get_content_subtype() == "html":
        content = strip_tags(content)
    return str(content).replace("\r\n", "\n")


def _attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and part.get_content_maintype() != "multipart":
            found.append((part.get_filename() or "attachment", payload))
    return found
