"""The intake's addresses: filing (`portico+punjab.troubleshooting.p2@…`), and the per-request reply addresses
and Message-IDs that notifications write, read back through conversations/addresses.py (one format, one place).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses

from django.conf import settings

from conversations.addresses import mail_domain, parse_message_id, parse_reply_address
from requests_app.models import ServiceRequest

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def intake_address() -> tuple[str, str]:
    """The intake mailbox's local part and domain, lower-cased."""
    local, _, domain = settings.PORTICO_MAIL_INTAKE_ADDRESS.rpartition("@")
    return local.lower(), domain.lower()


def own_domains() -> set[str]:
    """Domains our own mail comes from: a Message-ID under one of them arriving here is a loop."""
    domains = {intake_address()[1], mail_domain()}
    from_address = getaddresses([settings.DEFAULT_FROM_EMAIL])
    if from_address and "@" in from_address[0][1]:
        domains.add(from_address[0][1].rpartition("@")[2].lower())
    return domains


def address_detail(address: str) -> str | None:
    """The `+detail` of an address to the intake mailbox ('' for the bare address); None when not ours."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    base, plus, detail = local.partition("+")
    our_local, our_domain = intake_address()
    if base.lower() != our_local or domain.lower() != our_domain:
        return None
    return detail if plus else ""


def looks_like_reply(detail: str) -> bool:
    return detail.upper().startswith("REQ-")


def request_for_reply_address(address: str) -> ServiceRequest | None:
    """The request a per-request reply address belongs to (conversations/addresses.py writes them on every
    notification); None for any other address or a forged signature."""
    reply = parse_reply_address(address)
    if reply is None:
        return None
    return ServiceRequest.objects.filter(reference=reply.reference).first()


def request_for_references(*headers: str) -> ServiceRequest | None:
    """The request named by a Message-ID Portico wrote, in In-Reply-To/References (the most recent one wins)."""
    for header in headers:
        for value in reversed(_MESSAGE_ID.findall(header or "")):
            thread = parse_message_id(value)
            service_request = (
                ServiceRequest.objects.filter(reference=thread.reference).first() if thread is not None else None
            )
            if service_request is not None:
                return service_request
    return None


@dataclass(frozen=True)
class FilingChoice:
    """What a filing address's detail chose; empty strings where it chose nothing."""

    environment: str = ""
    request_type: str = ""
    priority: str = ""
    unknown: tuple[str, ...] = ()


def filing_choice(detail: str, *, environments: set[str], request_types: dict[str, str]) -> FilingChoice:
    """Read `punjab.troubleshooting.p2` (any order, any part left out) against the known codes."""
    environment = request_type = priority = ""
    unknown: list[str] = []
    for part in filter(None, detail.lower().split(".")):
        if part in environments:
            environment = part
        elif part in request_types:
            request_type = request_types[part]
        elif re.fullmatch(r"p[0-4]", part):
            priority = part.upper()
        else:
            unknown.append(part)
    return FilingChoice(environment, request_type, priority, tuple(unknown))
