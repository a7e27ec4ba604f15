"""Portal-wide periodic tasks."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def outbox_dispatch() -> int:
    """Send outbox messages left behind while the broker was down."""
    from .outbox import outbox_dispatch as dispatch

    return dispatch()


@shared_task(bind=True, acks_late=True)
def worker_heartbeat(self) -> str:
    """Record that a worker is alive and beat is scheduling; /metrics reports how long ago that was."""
    from django.utils import timezone

    from .models import WorkerHeartbeat

    hostname = self.request.hostname or "unknown"
    WorkerHeartbeat.objects.update_or_create(hostname=hostname, defaults={"seen_at": timezone.now()})
    return hostname
