"""Celery entry points of the SLA engine."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def sla_scan() -> dict[str, int]:
    """Flag clocks that became at risk or breached since the last scan."""
    from .services import sla_scan as scan

    return scan()
