"""Report tasks: entry points that call one service."""

from __future__ import annotations

from celery import shared_task

from portal.mail import MAIL_TASK_RETRY, mail_failures_classified


@shared_task(bind=True, acks_late=True, **MAIL_TASK_RETRY)
def report_weekly_email(self) -> str | None:
    """Send last week's report e-mail (Monday 09:00 by beat); safe to run twice."""
    from reports import services  # imported here to avoid import cycles

    with mail_failures_classified():
        delivery = services.report_weekly_email_send()
    return delivery.week if delivery else None


@shared_task(acks_late=True)
def report_weeks_refresh() -> dict[str, int]:
    """Store the week that just closed for the usual scopes and recompute stale stored weeks (beat, every 10 min)."""
    from reports import stored  # imported here to avoid import cycles

    return stored.report_weeks_refresh()
