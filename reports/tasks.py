"""Report tasks: entry points that call one service."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task


@shared_task(bind=True, acks_late=True, autoretry_for=(SMTPException, OSError), retry_backoff=True, max_retries=5)
def report_weekly_email(self) -> str | None:
    """Send last week's report e-mail (Monday 09:00 by beat); safe to run twice."""
    from reports import services  # imported here to avoid import cycles

    delivery = services.report_weekly_email_send()
    return delivery.week if delivery else None
