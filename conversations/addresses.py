"""Addresses and message ids of a request's e-mail thread: built here and parsed back here (the e-mail intake
reads replies with the same functions).

- `reply_address(reference, user_id)` → `portico+REQ-000123.42.Zm9vYmFy@mail.example.org`: the local part of
  `PORTICO_MAIL_INTAKE_ADDRESS` (the mailbox the e-mail intake reads) plus the request's reference, the user's id
  and a signature over both (HMAC-SHA256 keyed by SECRET_KEY, cut to 16 base32 characters), so a reply cannot be
  forged for another request or person.
- `parse_reply_address(address)` → `ReplyTo(reference, user_id)` or None if it is not ours or the signature fails.
- `thread_root_id(reference)`, `message_id(reference, event_id, user_id)` and `parse_message_id(value)` →
  `ThreadRef(reference, event_id, user_id)` or None: the `Message-ID`s Portico writes, and which request an
  `In-Reply-To`/`References` id belongs to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings

_SIGNATURE_LENGTH = 16
_REFERENCE = r"[A-Z]+-\d+"


@dataclass(frozen=True)
class ReplyTo:
    reference: str
    user_id: int


@dataclass(frozen=True)
class ThreadRef:
    reference: str
    event_id: int | None  # None: the thread's root id
    user_id: int | None


def _base() -> tuple[str, str]:
    """The reply mailbox's local part and domain: the intake's own (`PORTICO_MAIL_INTAKE_ADDRESS`), so a reply lands
    where inbound/ reads it."""
    local, _, domain = settings.PORTICO_MAIL_INTAKE_ADDRESS.rpartition("@")
    return local, domain.lower()


def mail_domain() -> str:
    """The stable domain of every Message-ID Portico writes (`PORTICO_MAIL_DOMAIN`, else the reply address's)."""
    return (settings.PORTICO_MAIL_DOMAIN or _base()[1]).lower()


def _signature(reference: str, user_id: int) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"portico-reply:{reference}:{user_id}".encode(), hashlib.sha256
    ).digest()
    return base64.b32encode(digest).decode().rstrip("=").lower()[:_SIGNATURE_LENGTH]


def reply_address(reference: str, user_id: int) -> str:
    """The address `user_id` replies to about request `reference`."""
    local, domain = _base()
    return f"{local}+{reference}.{user_id}.{_signature(reference, user_id)}@{domain}"


def parse_reply_address(address: str) -> ReplyTo | None:
    """The request and person a reply address names, if it is ours and its signature holds; else None."""
    _, bare = parseaddr(address)
    local, domain = _base()
    match = re.fullmatch(
        rf"{re.escape(local)}\+({_REFERENCE})\.(\d+)\.([a-z2-7]{{{_SIGNATURE_LENGTH}}})@{re.escape(domain)}",
        bare.strip(),
        flags=re.IGNORECASE,
    )
    if match is None:
        return None
    reference, user_id, signature = match.group(1).upper(), int(match.group(2)), match.group(3).lower()
    if not hmac.compare_digest(signature, _signature(reference, user_id)):
        return None
    return ReplyTo(reference=reference, user_id=user_id)


def thread_root_id(reference: str) -> str:
    """The id every message about `reference` replies to, so mail clients keep one thread per request."""
    return f"<{reference}@{mail_domain()}>"


def message_id(reference: str, event_id: int, user_id: int) -> str:
    """The Message-ID of the e-mail telling `user_id` about `event_id`: stable, so a resend is the same message."""
    return f"<{reference}.{event_id}.{user_id}@{mail_domain()}>"


def parse_message_id(value: str) -> ThreadRef | None:
    """Which request (and event and person) a Message-ID Portico wrote belongs to; None for anyone else's."""
    match = re.fullmatch(rf"<?({_REFERENCE})(?:\.(\d+)\.(\d+))?@([^>]+)>?", value.strip(), flags=re.IGNORECASE)
    if match is None or match.group(4).lower() != mail_domain():
        return None
    event_id, user_id = match.group(2), match.group(3)
    return ThreadRef(
        reference=match.group(1).upper(),
        event_id=int(event_id) if event_id else None,
        user_id=int(user_id) if user_id else None,
    )
