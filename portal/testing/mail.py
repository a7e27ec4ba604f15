"""An e-mail backend for tests (set it as EMAIL_BACKEND) that fails the next sends with a chosen error, then
delivers to Django's test outbox like the locmem backend: a stand-in for failures smtplib never raises, such as the
database going away while the notification is being written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from django.core.mail import EmailMessage
from django.core.mail.backends.locmem import EmailBackend


class FailingBackend(EmailBackend):
    """Raises each error of `FailingBackend.errors` in turn (one per send), then behaves as the locmem backend."""

    errors: ClassVar[list[BaseException]] = []
    attempts: ClassVar[int] = 0

    @classmethod
    def script(cls, *errors: BaseException) -> None:
        """Fail the next sends with `errors`, in order; resets the attempt count."""
        cls.errors, cls.attempts = list(errors), 0

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        type(self).attempts += 1
        if type(self).errors:
            raise type(self).errors.pop(0)
        return super().send_messages(messages)
