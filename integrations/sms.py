"""A generic SMS gateway's REST API: `POST {PORTICO_SMS_URL}/messages {to, body}` with a bearer token.

A 2xx is sent; a 5xx, a 429 or a network error is worth another try (`SmsLater`); anything else will not change
(`SmsRefused`: a bad number, a revoked token). No URL configured: nothing is sent (`SmsNotConfigured`).
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from django.conf import settings

TIMEOUT_SECONDS = 10.0


class SmsError(Exception):
    """The message was not sent."""


class SmsNotConfigured(SmsError):
    """PORTICO_SMS_URL is blank."""


class SmsRefused(SmsError):
    """The gateway answered something no retry will change."""


class SmsLater(SmsError):
    """The gateway failed for now; try again."""


@dataclass(frozen=True)
class SmsSent:
    message_id: str


def sms_send(*, to: str, body: str) -> SmsSent:
    url = (settings.PORTICO_SMS_URL or "").rstrip("/")
    if not url:
        raise SmsNotConfigured("No SMS gateway is configured (PORTICO_SMS_URL).")
    try:
        response = requests.post(
            f"{url}/messages",
            json={"to": to, "body": body},
            headers={"Authorization": f"Bearer {settings.PORTICO_SMS_TOKEN}"},
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise SmsLater(f"{exc.__class__.__name__}: {exc}") from exc
    text = response.text.strip()[:200]
    if response.status_code == 429 or response.status_code >= 500:
        raise SmsLater(f"{response.status_code} {text}")
    if not 200 <= response.status_code < 300:
        raise SmsRefused(f"{response.status_code} {text}")
    try:
        message_id = str(response.json().get("id", ""))
    except ValueError:
        message_id = ""
    return SmsSent(message_id=message_id)
