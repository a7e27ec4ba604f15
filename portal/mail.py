"""E-mail plumbing every app shares: header text made safe, and which sending failures are worth retrying.

A header built from user text (a request title, a vendor's or a person's name) that contains a line break makes
Django refuse the whole message (`BadHeaderError`), so nobody is told; `mail_header_text` puts it on one line.
Celery tasks that send mail take `MAIL_TASK_RETRY` and run the sending inside `mail_failures_classified()`: any
failure is retried with a growing delay, a bounded number of times, except a refusal no retry can change (every
recipient refused with a permanent 5xx code), which fails the task at once instead of looping.
"""

from __future__ import annotations

import smtplib
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.mail import BadHeaderError

# Long enough for a reference, a verb and a 200-character title; mail clients cut subjects far shorter anyway.
SUBJECT_MAX_LENGTH = 200
# Line breaks (CR, LF, NEL, U+2028/9) and every other control character: none belongs in a header.
_BREAKING_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def mail_header_text(value: object, *, max_length: int = SUBJECT_MAX_LENGTH) -> str:
    """`value` as one header line: control characters and runs of white space become one space, the ends are
    trimmed, and text past `max_length` characters is cut with an ellipsis."""
    text = "".join(" " if unicodedata.category(char) in _BREAKING_CATEGORIES else char for char in str(value))
    text = " ".join(text.split())
    if len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text


class MailRefused(Exception):
    """The mail server refused the message for good (e.g. no such address): retrying would only repeat it."""


def mail_error_is_permanent(exc: BaseException) -> bool:
    """True for failures no retry can change: every recipient refused with a 5xx code, or a header Django will
    never send. Everything else (connection refused or dropped, timeouts, 4xx "try later", a database blip) is
    transient."""
    if isinstance(exc, BadHeaderError):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    return False


@contextmanager
def mail_failures_classified() -> Iterator[None]:
    """Re-raise a permanent sending failure as `MailRefused` (which `MAIL_TASK_RETRY` does not retry); any other
    failure passes through unchanged, to be retried."""
    try:
        yield
    except Exception as exc:
        if mail_error_is_permanent(exc):
            raise MailRefused(str(exc)) from exc
        raise


# The retry policy of every task that sends mail: any failure but `MailRefused` is retried, after 30 s, 60 s,
# 120 s … at most 15 minutes apart (with jitter), 10 times (about an hour and a half), then the task fails. The
# longest delay stays well under the Redis visibility timeout, so a waiting retry is never delivered twice.
MAIL_TASK_RETRY: dict[str, Any] = {
    "autoretry_for": (Exception,),
    "dont_autoretry_for": (MailRefused,),
    "retry_backoff": 30,
    "retry_backoff_max": 15 * 60,
    "retry_jitter": True,
    "max_retries": 10,
}
