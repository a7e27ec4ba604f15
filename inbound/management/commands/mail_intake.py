"""Deliver one message from standard input, as an MTA's pipe transport does (Postfix `pipe`, Exim `pipe`).

The exit status follows sysexits.h, which Postfix and Exim understand: 0 done (filed, commented, bounced by us or
dropped), 65 (EX_DATAERR) too large or malformed, 67 (EX_NOUSER) not the intake mailbox, 75 (EX_TEMPFAIL) try again
later. The reason goes to standard error, which the MTA quotes in its own bounce.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from inbound.services import mail_receive


class Command(BaseCommand):
    help = "Read one RFC 5322 message on standard input and hand it to Portico's mail intake."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--recipient",
            action="append",
            default=[],
            help="Envelope recipient (Postfix ${original_recipient}, Exim $local_part@$domain); repeatable. "
            "Without it, the message's Delivered-To, X-Original-To and To headers are used.",
        )
        parser.add_argument("--sender", default="", help="Envelope sender (Postfix ${sender}, Exim $sender_address).")

    def handle(self, *args: Any, **options: Any) -> None:
        limit = settings.PORTICO_MAIL_MAX_BYTES
        # One byte past the limit is enough to know it is too large, without reading a huge message into memory.
        raw = sys.stdin.buffer.read(limit + 1)
        size = len(raw)
        if size > limit:
            # Drain (and count) the rest so the MTA's write does not fail before it sees our exit status.
            while chunk := sys.stdin.buffer.read(1024 * 1024):
                size += len(chunk)
        recipients = options["recipient"] or _header_recipients(raw)
        outcome = mail_receive(raw, recipients=recipients, envelope_sender=options["sender"], size=size)
        stream = self.stdout if outcome.exit_code == 0 else self.stderr
        stream.write(f"{outcome.status}: {outcome.detail or outcome.smtp_reply}")
        sys.exit(outcome.exit_code)


def _header_recipients(raw: bytes) -> list[str]:
    from email import message_from_bytes
    from email.utils import getaddresses

    head = message_from_bytes(raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0] + b"\n\n")
    values = [str(head.get(name, "")) for name in ("Delivered-To", "X-Original-To", "To", "Cc")]
    return [address for _, address in getaddresses(values) if address]
