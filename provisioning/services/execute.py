"""Executing runs: a worker claims a run, executes its remaining steps in order and saves each step's result in its
own transaction, so the page shows progress and a redelivered task picks up where the last one stopped."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.errors import IntegrationError, TransientIntegrationError
from requests_app import catalogue
from requests_app.choices import EventKind

from ..choices import DONE_STEP_STATUSES, RunStatus, StepStatus
from ..constants import MAX_POLLS, POLL_SECONDS
from ..models import ProvisioningRun, ProvisioningStep
from ..steps import EXECUTORS, StepContext, StepFailed, StepResult
from ._shared import event as _event
from .grants import grant_record as _grant_record
from .leases import Heartbeat, lease_release, lease_renew, lease_until

logger = logging.getLogger(__name__)


def _poll_seconds() -> int:
    return int(getattr(settings, "PORTICO_PROVISIONING_POLL_SECONDS", POLL_SECONDS))


def _claim(run_id: int, *, continuation: bool, owner: str) -> ProvisioningRun | None:
    """Take the run's lease for `owner`, or None when there is nothing to do or another delivery holds it."""
    with transaction.atomic():
        run = (
            ProvisioningRun.objects.select_for_update(of=("self",))
            .select_related("service_request__environment", "service_request__team")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.is_finished:  # rolled back, or a redelivery of a run that is already done
            return None
        now = timezone.now()
        held = run.lease_owner and run.lease_expires_at is not None and run.lease_expires_at > now
        # The same message delivered again means its earlier delivery died (a pool child killed: Celery requeues
        # it at once), so it takes its own lease back. Any other delivery stands down while the lease holds: the
        # sweeper's after a late heartbeat, or the broker's late redelivery of a message the sweeper replaced.
        if held and run.lease_owner != owner:
            logger.info(
                "run %s is in %s's hands until %s; %s stands down", run.pk, run.lease_owner, run.lease_expires_at, owner
            )
            return None
        if not run.service_request.is_open:
            run.status, run.finished_at = RunStatus.CANCELLED, now
            run.error_message = "The request was closed before the run could finish."
            run.lease_owner, run.lease_expires_at = "", None
            run.save(update_fields=["status", "finished_at", "error_message", "lease_owner", "lease_expires_at"])
            return None
        fields = ["attempts", "lease_owner", "lease_expires_at", "heartbeat_at"]
        if run.status == RunStatus.QUEUED:
            run.status, run.started_at = RunStatus.RUNNING, now
            fields += ["status", "started_at"]
        if not continuation:  # a poll is not a new attempt; a retry or redelivery is
            run.attempts += 1
        run.lease_owner, run.lease_expires_at, run.heartbeat_at = owner, lease_until(now), now
        run.save(update_fields=fields)
        return run


def run_execute(*, run_id: int, continuation: bool = False, owner: str = "") -> int | None:
    """Execute a run's remaining steps in order under a lease; returns seconds until the next poll, or None when
    there is nothing more to do now (finished, cancelled, or in another delivery's hands).

    `owner` names this delivery (the Celery task id; a fresh one when empty). Raises TransientIntegrationError for
    the task to retry with backoff; every other failure ends the run.
    """
    owner = owner or f"local-{uuid.uuid4().hex}"
    run = _claim(run_id, continuation=continuation, owner=owner)
    if run is None:
        return None
    action = catalogue.action_named(run.action)
    context = StepContext(run, poll_seconds=_poll_seconds())
    try:
        with Heartbeat(run.pk, owner) as heartbeat:
            for step in run.steps.order_by("position"):
                if step.status in DONE_STEP_STATUSES:
                    continue  # done by an earlier delivery: never repeated
                if step.status == StepStatus.FAILED:
                    return None
                if heartbeat.lost.is_set() or not lease_renew(run.pk, owner):
                    logger.info("run %s: %s lost its lease (cancelled or resumed elsewhere); stopping", run.pk, owner)
                    return None
                _step_begin(step)
                context.recorder.calls.clear()
                try:
                    result = EXECUTORS[step.key](context)
                    if result.poll_after is not None:
                        _step_progress(run, step, result, context)
                        # Nobody holds the run until the poll is due; if it was cancelled meanwhile, no poll.
                        return result.poll_after if lease_release(run.pk, owner, wait=result.poll_after) else None
                except TransientIntegrationError as exc:
                    _step_transient(run, step, exc)
                    lease_release(run.pk, owner, wait=0)  # the task extends it by its backoff (leases.lease_wait)
                    raise
                except IntegrationError as exc:
                    _run_fail(run, step, exc.message, kind=exc.kind.value)
                    return None
                except StepFailed as exc:
                    _run_fail(run, step, exc.message, result=exc.result)
                    return None
                _step_finish(run, step, result, context)
            _run_succeed(run, action)
            return None
    finally:
        context.close()


def _step_begin(step: ProvisioningStep) -> None:
    with transaction.atomic():
        step.status = StepStatus.RUNNING
        step.started_at = step.started_at or timezone.now()
        step.save(update_fields=["status", "started_at"])


def _apply_result(run: ProvisioningRun, step: ProvisioningStep, result: StepResult, context: StepContext) -> None:
    step.output_text = result.text
    step.output = {**step.output, **result.output}
    if context.recorder.calls:
        step.output["dry_run_calls"] = context.recorder.as_steps()
    step.external_id = result.external_id or step.external_id
    step.link = result.link or step.link
    if result.run_external_ids or result.run_links:
        run.external_ids = {**run.external_ids, **result.run_external_ids}
        run.links = {**run.links, **result.run_links}
        run.save(update_fields=["external_ids", "links"])


def _step_progress(run: ProvisioningRun, step: ProvisioningStep, result: StepResult, context: StepContext) -> None:
    polls = int(step.output.get("polls", 0)) + 1
    if polls > MAX_POLLS:
        raise StepFailed(f"It did not finish within {MAX_POLLS * (result.poll_after or 0) // 60} minutes.")
    with transaction.atomic():
        _apply_result(run, step, result, context)
        step.output["polls"] = polls
        step.save(update_fields=["output_text", "output", "external_id", "link"])


def _step_transient(run: ProvisioningRun, step: ProvisioningStep, exc: TransientIntegrationError) -> None:
    with transaction.atomic():
        step.status = StepStatus.PENDING
        step.output_text = f"Attempt {run.attempts}: {exc.message}"
        step.output = {**step.output, "last_error": exc.as_dict()}
        step.save(update_fields=["status", "output_text", "output"])


def _step_finish(run: ProvisioningRun, step: ProvisioningStep, result: StepResult, context: StepContext) -> None:
    with transaction.atomic():
        _apply_result(run, step, result, context)
        step.output.pop("last_error", None)
        step.status = StepStatus.SKIPPED if result.skipped else StepStatus.SUCCEEDED
        step.finished_at = timezone.now()
        step.save()
        if result.grant is not None:
            _grant_record(run, result.grant)


def _run_succeed(run: ProvisioningRun, action: catalogue.Action) -> None:
    with transaction.atomic():
        run = ProvisioningRun.objects.select_for_update(of=("self",)).select_related("service_request").get(pk=run.pk)
        if run.is_finished:
            return
        run.status, run.finished_at = RunStatus.SUCCEEDED, timezone.now()
        run.lease_owner, run.lease_expires_at = "", None
        run.save(update_fields=["status", "finished_at", "lease_owner", "lease_expires_at"])
        _event(
            run,
            actor=None,
            kind=EventKind.PROVISIONING_SUCCEEDED,
            message=f"Automation run #{run.pk} succeeded: {action.summary(run.parameters)}.",
        )


def _run_fail(
    run: ProvisioningRun,
    step: ProvisioningStep | None,
    message: str,
    *,
    kind: str = "",
    result: StepResult | None = None,
) -> None:
    with transaction.atomic():
        run = ProvisioningRun.objects.select_for_update(of=("self",)).select_related("service_request").get(pk=run.pk)
        if run.is_finished:
            return
        now = timezone.now()
        where = ""
        if step is not None:
            step.refresh_from_db()
            if result is not None:
                step.output = {**step.output, **result.output}
                step.external_id = result.external_id or step.external_id
                step.link = result.link or step.link
                run.external_ids = {**run.external_ids, **result.run_external_ids}
                run.links = {**run.links, **result.run_links}
            step.status, step.finished_at, step.output_text = StepStatus.FAILED, now, message
            step.output = {**step.output, "error": message}
            step.save()
            where = f" at “{step.title}”"
        run.status, run.finished_at, run.error_message = RunStatus.FAILED, now, message
        run.lease_owner, run.lease_expires_at = "", None
        run.save(
            update_fields=[
                "status",
                "finished_at",
                "error_message",
                "external_ids",
                "links",
                "lease_owner",
                "lease_expires_at",
            ]
        )
        _event(
            run,
            actor=None,
            kind=EventKind.PROVISIONING_FAILED,
            message=f"Automation run #{run.pk} failed{where}: {message} The request stays in progress; "
            "fix the cause and retry the run.",
            step=step.key if step else "",
            error_kind=kind,
        )


def run_fail(*, run_id: int, message: str) -> ProvisioningRun | None:
    """Mark a run failed after its task gave up (retries exhausted, or an unexpected error)."""
    run = ProvisioningRun.objects.filter(pk=run_id).first()
    if run is None or run.is_finished:
        return run
    step = run.steps.exclude(status__in=DONE_STEP_STATUSES).order_by("position").first()
    _run_fail(run, step, message)
    run.refresh_from_db()
    return run
