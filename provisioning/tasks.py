"""Celery entry points for provisioning: thin, idempotent, retried with backoff and jitter on transient failures."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.utils.time import get_exponential_backoff_interval

from integrations.errors import TransientIntegrationError

from .constants import MAX_RETRIES, RETRY_BACKOFF_MAX


class RunTask(DjangoTask):
    """After the last retry (or an unexpected error) the run is marked failed, never left "running"."""

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        from . import services

        if isinstance(exc, TransientIntegrationError):
            message = f"{exc.message} Gave up after {self.max_retries} retries."
        else:
            message = f"Portico could not finish the run ({type(exc).__name__}); the error is logged."
        services.run_fail(run_id=kwargs["run_id"], message=message)


@shared_task(bind=True, base=RunTask, acks_late=True, max_retries=MAX_RETRIES)
def provisioning_run_execute(self, *, run_id: int, continuation: bool = False) -> str:
    """Execute a run's remaining steps; while a build or pipeline runs, look again later instead of sleeping."""
    from . import services

    try:
        poll_after = services.run_execute(run_id=run_id, continuation=continuation, owner=self.request.id or "")
    except TransientIntegrationError as exc:
        if self.request.retries >= self.max_retries:
            raise  # on_failure marks the run failed
        # Backoff with jitter, as autoretry would, but known here: the run's lease must outlast the wait, or the
        # sweeper would take a run that is only waiting for its retry for one whose worker died.
        countdown = get_exponential_backoff_interval(
            factor=1, retries=self.request.retries, maximum=RETRY_BACKOFF_MAX, full_jitter=True
        )
        services.lease_wait(run_id, seconds=countdown)
        raise self.retry(exc=exc, countdown=countdown) from exc
    if poll_after is None:
        return "done"
    # A fresh message, not self.retry(): polling must not use up the retry budget for real failures.
    self.apply_async(kwargs={"run_id": run_id, "continuation": True}, countdown=poll_after)
    return f"poll in {poll_after}s"


@shared_task(acks_late=True)
def provisioning_runs_resume_stuck() -> int:
    """Resume runs whose worker died (every 30 s, from beat): their lease lapsed without a heartbeat."""
    from . import services

    return services.runs_resume_stuck()


@shared_task(acks_late=True)
def access_grants_revoke_expired() -> int:
    """Revoke just-in-time access past its expiry (every minute, from beat)."""
    from . import services

    return services.access_grants_revoke_expired()
