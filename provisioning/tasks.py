"""Celery entry points for provisioning: thin, idempotent, retried with backoff and jitter on transient failures."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.contrib.django.task import DjangoTask

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


@shared_task(
    bind=True,
    base=RunTask,
    acks_late=True,
    autoretry_for=(TransientIntegrationError,),
    retry_backoff=True,
    retry_jitter=True,
    retry_backoff_max=RETRY_BACKOFF_MAX,
    max_retries=MAX_RETRIES,
)
def provisioning_run_execute(self, *, run_id: int, continuation: bool = False) -> str:
    """Execute a run's remaining steps; while a build or pipeline runs, look again later instead of sleeping."""
    from . import services

    poll_after = services.run_execute(run_id=run_id, continuation=continuation)
    if poll_after is None:
        return "done"
    # A fresh message, not self.retry(): polling must not use up the retry budget for real failures.
    self.apply_async(kwargs={"run_id": run_id, "continuation": True}, countdown=poll_after)
    return f"poll in {poll_after}s"


@shared_task(acks_late=True)
def access_grants_revoke_expired() -> int:
    """Revoke just-in-time access past its expiry (every minute, from beat)."""
    from . import services

    return services.access_grants_revoke_expired()
