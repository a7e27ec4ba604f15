"""The long-running LMTP/SMTP listener an MTA delivers to (aiosmtpd): each message goes to `mail_receive`.

Recipients that are not the intake mailbox are refused at RCPT TO (550), so the MTA bounces them itself; a message
over PORTICO_MAIL_MAX_BYTES is refused at DATA (552) and recorded; everything else is answered 250 once it has been
filed, commented, bounced or dropped, or 451 (try again later) when the database or storage is down.
"""

from __future__ import annotations

import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections

from .services import mail_receive, recipient_is_ours

logger = logging.getLogger(__name__)


def _receive(raw: bytes, recipients: list[str], sender: str) -> str:
    close_old_connections()
    try:
        outcome = mail_receive(raw, recipients=recipients, envelope_sender=sender)
    finally:
        # Each message runs on a pool thread; its connection is not reused reliably, so it is not kept open.
        connections.close_all()
    logger.info("mail intake: %s (%s) for %s", outcome.status, outcome.detail, ", ".join(recipients))
    return outcome.smtp_reply


class IntakeHandler:
    """aiosmtpd's handler: checks recipients as they come, hands the whole message over at the end."""

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not recipient_is_ours(address):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        reply: str = await sync_to_async(_receive, thread_sensitive=False)(
            raw, list(envelope.rcpt_tos), envelope.mail_from or ""
        )
        if isinstance(server, LMTP):
            # LMTP answers DATA once per accepted recipient.
            return "\r\n".join([reply] * max(1, len(envelope.rcpt_tos)))
        return reply


class IntakeController(Controller):
    """One listener on `hostname:port`, speaking LMTP (`lmtp=True`, for a local MTA) or SMTP."""

    def __init__(self, *, hostname: str, port: int, lmtp: bool = False, **kwargs: Any) -> None:
        self.lmtp = lmtp
        # Refused by aiosmtpd itself past this size; a little over the limit so the handler records the refusal.
        self.size_limit = settings.PORTICO_MAIL_MAX_BYTES + 64 * 1024
        super().__init__(IntakeHandler(), hostname=hostname, port=port, **kwargs)

    def factory(self) -> SMTP:
        server_class = LMTP if self.lmtp else SMTP
        return server_class(
            self.handler,
            data_size_limit=self.size_limit,
            hostname=self.hostname,
            ident="Portico mail intake",
        )
