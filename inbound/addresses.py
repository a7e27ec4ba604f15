"""The intake's addresses: filing (`portico+punjab.troubleshooting.p2@…`) and per-request replies
(`portico+REQ-000123.<token>@…`, the token an HMAC of the reference under a key derived from SECRET_KEY), and the
Portico Message-IDs (`<REQ-000123.…@host>`) a reply names in In-Reply-To/References.

The notifications side builds the same reply address for outgoing mail; this module only needs to read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from requests_app.models import ServiceRequest

_REPLY_SALT = "portico.inbound.reply-address"
_REFERENCE = re.compile(r"^(REQ-\d{6,})\.([0-9a-f]{16})$", re.IGNORECASE)
_MESSAGE_ID_REFERENCE = re.compile(r"<(REQ-\d{6,})\.[^@<>\s]*@[^<>\s]+>", re.IGNORECASE)


def intake_address() -> tuple[str, str]:
    """The intake mailbox's local part and domain, lower-cased."""
    local, _, domain = settings.PORTICO_MAIL_INTAKE_ADDRESS.rpartition("@")
    return local.lower(), domain.lower()


def own_domains() -> set[str]:
    """Domains our own mail comes from: a Message-ID under one of them arriving here is a loop."""
    domains = {intake_address()[1]}
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


def reply_token(reference: str) -> str:
    return salted_hmac(_REPLY_SALT, reference.upper(), algorithm="sha256").hexdigest()[:16]


def reply_address(reference: str) -> str:
    local, domain = intake_address()
    return f"{local}+{reference}.{reply_token(reference)}@{domain}"


def reply_reference(detail: str) -> str | None:
    """The reference a reply address's detail names, when its token is genuine."""
    match = _REFERENCE.match(detail)
    if not match:
        return None
    reference = match.group(1).upper()
    return reference if constant_time_compare(match.group(2).lower(), reply_token(reference)) else None


def looks_like_reply(detail: str) -> bool:
    return detail.upper().startswith("REQ-")


def request_for_reply_address(address: str) -> ServiceRequest | None:
    """The request a per-request reply address belongs to; None for any other address or a forged token."""
    detail = address_detail(address)
    reference = reply_reference(detail) if detail else None
    if reference is None:
        return None
    return ServiceRequest.objects.filter(reference=reference).first()


def request_for_references(*headers: str) -> ServiceRequest | None:
    """The request named by a Portico Message-ID in In-Reply-To/References (the most recent one wins)."""
    for header in headers:
        found = _MESSAGE_ID_REFERENCE.findall(header or "")
        for reference in reversed(found):
            service_request = ServiceRequest.objects.filter(reference=reference.upper()).first()
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
