"""A run's lease: which task delivery has the run in hand, and until when.

A worker claims the lease when it starts executing a run and renews it before every step and, from a heartbeat
thread, every PORTICO_PROVISIONING_HEARTBEAT_SECONDS while a step runs. Between deliveries (a poll's countdown, a
retry's backoff, a message waiting in the queue) nobody owns the run, but its lease still runs until the next
delivery is due. An active run whose lease lapsed is stuck: its worker died with it (OOM kill, node loss), and the
sweeper (`control.runs_resume_stuck`) sends it to another worker long before the broker would redeliver it.

Every write here is one conditional UPDATE on the run row, so a worker that lost its lease (the run was cancelled,
or resumed elsewhere after the lease lapsed) learns so from the row count and stops.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from types import TracebackType

from django.conf import settings
from django.db import connections
from django.utils import timezone

from ..choices import RunStatus
from ..models import ProvisioningRun

logger = logging.getLogger(__name__)


def lease_seconds() -> float:
    """How long a run stays in a worker's hands without a heartbeat."""
    return float(settings.PORTICO_PROVISIONING_LEASE_SECONDS)


def lease_until(now: datetime, *, wait: float = 0) -> datetime:
    """When a lease taken at `now` lapses, when the next delivery is due `wait` seconds later."""
    return now + timedelta(seconds=wait + lease_seconds())


def lease_renew(run_id: int, owner: str) -> bool:
    """Extend `owner`'s lease on a running run and record a heartbeat; False when it is no longer theirs."""
    now = timezone.now()
    renewed = ProvisioningRun.objects.filter(pk=run_id, lease_owner=owner, status=RunStatus.RUNNING).update(
        lease_expires_at=lease_until(now), heartbeat_at=now
    )
    return bool(renewed)


def lease_release(run_id: int, owner: str, *, wait: float) -> bool:
    """`owner` lets go of the run until its next delivery, due in `wait` seconds; False when it was not theirs."""
    now = timezone.now()
    released = ProvisioningRun.objects.filter(pk=run_id, lease_owner=owner, status=RunStatus.RUNNING).update(
        lease_owner="", lease_expires_at=lease_until(now, wait=wait), heartbeat_at=now
    )
    return bool(released)


def lease_wait(run_id: int, *, seconds: float) -> None:
    """The next delivery of an unowned active run is due in `seconds` (a retry's backoff): keep the sweeper off."""
    ProvisioningRun.objects.filter(pk=run_id, lease_owner="", status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).update(
        lease_expires_at=lease_until(timezone.now(), wait=seconds)
    )


class Heartbeat:
    """Renews `owner`'s lease from a thread every few seconds while a step runs, so a slow step is not taken for a
    dead worker. The thread dies with its process, which is the point: a worker killed whole stops beating."""

    def __init__(self, run_id: int, owner: str) -> None:
        self.run_id = run_id
        self.owner = owner
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"run-{run_id}-heartbeat", daemon=True)

    def _beat(self) -> None:
        interval = float(settings.PORTICO_PROVISIONING_HEARTBEAT_SECONDS)
        try:
            while not self._stop.wait(interval):
                if not lease_renew(self.run_id, self.owner):
                    self.lost.set()  # cancelled, or resumed elsewhere: the main thread stops before the next step
                    return
        except Exception:  # a database hiccup must not kill the step; the next step's renewal asks again
            logger.exception("run %s: heartbeat failed", self.run_id)
        finally:
            connections.close_all()  # this thread's own connection; Django keeps one per thread

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
