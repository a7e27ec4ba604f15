"""Run the LMTP/SMTP listener an MTA delivers Portico's mail to, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from inbound.listener import IntakeController


class Command(BaseCommand):
    help = "Listen for inbound mail over LMTP (--lmtp) or SMTP and hand each message to Portico's mail intake."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (0.0.0.0 in a container).")
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument("--lmtp", action="store_true", help="Speak LMTP (RFC 2033) instead of SMTP.")

    def handle(self, *args: Any, **options: Any) -> None:
        controller = IntakeController(hostname=options["host"], port=options["port"], lmtp=options["lmtp"])
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        controller.start()
        protocol = "LMTP" if options["lmtp"] else "SMTP"
        self.stdout.write(f"Mail listener ({protocol}) ready on {options['host']}:{options['port']}", ending="\n")
        self.stdout.flush()
        stop.wait()
        controller.stop()
        self.stdout.write("Mail listener stopped")
