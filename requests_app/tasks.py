"""Celery entry points for the request workflow: thin, idempotent, called on commit."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def requests_auto_close() -> int:
    """Close requests that stayed resolved past the quiet period."""
    from .services import requests_auto_close as close

    return close()
