"""Every write to provisioning runs, their steps and just-in-time access grants, each audited on the request's
timeline. Runs execute step by step in Celery; each step's result is saved in its own transaction, so the page
shows progress and a redelivered task picks up where the last one stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.connections import adapter_for, connection_for
from integrations.errors import IntegrationError, TransientIntegrationError
from portal.exceptions import Conflict, Forbidden, InvalidTransition, NotFound, PortalError, ValidationFailed
from portal.outbox import outbox_enqueue
from requests_app import catalogue
from requests_app import permissions as perms
from requests_app.choices import EventKind, RequestState
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.timeline import SYSTEM_ACTOR, timeline_append

from .choices import DONE_STEP_STATUSES, RunStatus, StepStatus
from .constants import MAX_POLLS, POLL_SECONDS
from .models import AccessGrant, ProvisioningRun, ProvisioningStep
from .steps import EXECUTORS, GrantRecord, StepContext, StepFailed, StepResult

if TYPE_CHECKING:
    from integrations.gitlab import GitLabPort
    from integrations.kubernetes import KubernetesPort
    from portal.models import User

logger = logging.getLogger(__name__)
EXECUTE_TASK = "provisioning.tasks.provisioning_run_execute"
SYSTEM_LABELS = {"gitlab": "GitLab", "kubernetes": "Kubernetes", "jenkins": "Jenkins"}


def _poll_seconds() -> int:
    return int(getattr(settings, "PORTICO_PROVISIONING_POLL_SECONDS", POLL_SECONDS))


def _approved(service_request: ServiceRequest) -> bool:
    # The event, not the state: a request whose type the PM changed after triage was never approved.
    return service_request.events.filter(kind=EventKind.APPROVE).exists()


def _enqueue(run: ProvisioningRun) -> None:
    outbox_enqueue(EXECUTE_TASK, run_id=run.pk)


def _event(run: ProvisioningRun, *, actor: User | None, kind: str, message: str, **payload: Any) -> RequestEvent:
    return timeline_append(
        run.service_request,
        actor=actor,
        kind=kind,
        message=message,
        payload={"run": run.pk, "action": run.action, **payload},
    )


# --- starting and retrying -----------------------------------------------------------------------------------
def run_start_check(
    service_request: ServiceRequest, *, actor: User | None, action: str | None = None
) -> catalogue.Action:
    """Raise what starting `action` as `actor` now would (404, 409, 403, 400); return the action otherwise."""
    if actor is not None and not ServiceRequest.objects.visible_to(actor).filter(pk=service_request.pk).exists():
        raise NotFound(f"No request {service_request.reference}.")
    chosen = catalogue.action_for(service_request.request_type, action)
    state = service_request.get_state_display().lower()
    if service_request.needs_approval and not _approved(service_request):
        raise InvalidTransition(
            f"{service_request.reference} needs eGov DevOps approval first; automation runs only after approval.",
            extra={"state": service_request.state},
        )
    if actor is None:
        if not service_request.needs_approval:
            raise Forbidden("The portal starts runs by itself only for approved access and production work.")
        if service_request.state not in (RequestState.QUEUED, RequestState.IN_PROGRESS):
            raise InvalidTransition(f"Automation cannot start on a request that is {state}.")
    else:
        if service_request.state != RequestState.IN_PROGRESS:
            raise InvalidTransition(
                f"Automation runs while a request is in progress; {service_request.reference} is {state}.",
                extra={"state": service_request.state},
            )
        if not perms.is_vendor_member(service_request, actor):
            raise Forbidden("Only engineers of the vendor assigned to this request can run its automation.")
    if not service_request.parameters:
        raise ValidationFailed(
            f"{service_request.reference} has no parameters for “{chosen.label}”; this work is done by hand.",
            fields={"parameters": "No automation parameters were given when the request was filed."},
        )
    catalogue.parameters_clean(chosen, service_request.parameters)
    if ProvisioningRun.objects.active().filter(service_request=service_request, action=chosen.name).exists():
        raise Conflict(f"“{chosen.label}” is already running for {service_request.reference}; wait for it to finish.")
    return chosen


def _snapshot(action: catalogue.Action, parameters: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    snapshot = dict(parameters)
    if action.name == "jit_access":
        # The clock starts when access is (re)granted, and never later: a retry gets a fresh window.
        snapshot["expires_at"] = (now + timedelta(hours=int(parameters["duration_hours"]))).isoformat()
    return snapshot


def _lock_request(service_request: ServiceRequest) -> ServiceRequest:
    return (
        ServiceRequest.objects.select_for_update(of=("self",))
        .select_related("environment", "team")
        .get(pk=service_request.pk)
    )


@transaction.atomic
def run_start(service_request: ServiceRequest, *, actor: User | None, action: str | None = None) -> ProvisioningRun:
    """Start the request's automation (an engineer of its vendor, or Portico itself after approval)."""
    locked = _lock_request(service_request)  # two clicks at once: the second sees the first run
    chosen = run_start_check(locked, actor=actor, action=action)
    now = timezone.now()
    parameters = _snapshot(chosen, catalogue.parameters_clean(chosen, locked.parameters), now)
    systems = chosen.systems(parameters)
    run = ProvisioningRun(
        service_request=locked,
        action=chosen.name,
        parameters=parameters,
        created_by=actor,
        created_at=now,
        dry_run=any(connection_for(locked.environment, system) is None for system in systems),
    )
    run.full_clean(exclude=["service_request", "created_by"], validate_constraints=False)
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError as exc:
        raise Conflict(f"“{chosen.label}” is already running for {locked.reference}.") from exc
    ProvisioningStep.objects.bulk_create(
        ProvisioningStep(run=run, position=position, key=plan.key, title=plan.title)
        for position, plan in enumerate(chosen.plan(parameters), 1)
    )
    who = f" by {SYSTEM_ACTOR} after approval" if actor is None else ""
    dry = " (dry run: no connection, calls are recorded, not sent)" if run.dry_run else ""
    _event(
        run,
        actor=actor,
        kind=EventKind.PROVISIONING_STARTED,
        message=f"Automation run #{run.pk} started{who}: {chosen.label}{dry}.",
    )
    _enqueue(run)
    return run


def run_start_after_approval(service_request: ServiceRequest) -> ProvisioningRun | None:
    """Right after approval, start the automation as Portico itself when the requester gave parameters."""
    if not service_request.parameters or not service_request.needs_approval:
        return None
    try:
        with transaction.atomic():
            return run_start(service_request, actor=None)
    except PortalError as exc:
        timeline_append(
            service_request,
            actor=None,
            kind=EventKind.PROVISIONING_FAILED,
            message=f"Automation was not started after approval: {exc.message}",
        )
        return None


def _retry_from(run: ProvisioningRun, steps: list[ProvisioningStep]) -> int:
    """The position a retry restarts at: the failed step, or earlier when it must redo a trigger."""
    plans = {plan.key: plan for plan in catalogue.action_named(run.action).plan(run.parameters)}
    positions = {step.key: step.position for step in steps}
    failed = [step for step in steps if step.status not in DONE_STEP_STATUSES]
    if not failed:
        return len(steps) + 1
    first = failed[0]
    plan = plans.get(first.key)
    if plan and plan.retry_from in positions:
        return min(first.position, positions[plan.retry_from])
    return first.position


@transaction.atomic
def run_retry(run: ProvisioningRun, *, actor: User | None) -> ProvisioningRun:
    """Run a failed run again from the step that failed; steps already done are not repeated."""
    locked_request = _lock_request(run.service_request)
    run = ProvisioningRun.objects.select_for_update().get(pk=run.pk)
    run.service_request = locked_request
    if actor is not None and not ServiceRequest.objects.visible_to(actor).filter(pk=locked_request.pk).exists():
        raise NotFound(f"No request {locked_request.reference}.")
    if run.status != RunStatus.FAILED:
        raise Conflict(f"Only a failed run can be retried; run #{run.pk} is {run.get_status_display().lower()}.")
    chosen = run_start_check(locked_request, actor=actor, action=run.action)
    steps = list(run.steps.order_by("position"))
    start = _retry_from(run, steps)
    for step in steps:
        if step.position >= start:
            step.status, step.started_at, step.finished_at = StepStatus.PENDING, None, None
            step.output_text, step.output, step.external_id, step.link = "", {}, "", ""
    ProvisioningStep.objects.bulk_update(
        steps, ["status", "started_at", "finished_at", "output_text", "output", "external_id", "link"]
    )
    now = timezone.now()
    run.parameters = _snapshot(chosen, run.parameters, now)
    run.status, run.error_message, run.finished_at = RunStatus.QUEUED, "", None
    run.retries += 1
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError as exc:
        raise Conflict(f"“{chosen.label}” is already running for {locked_request.reference}.") from exc
    _event(
        run,
        actor=actor,
        kind=EventKind.PROVISIONING_STARTED,
        message=f"Automation run #{run.pk} retried: {chosen.label} (retry {run.retries}).",
    )
    _enqueue(run)
    return run


# --- executing -----------------------------------------------------------------------------------------------
def _claim(run_id: int, *, continuation: bool) -> ProvisioningRun | None:
    with transaction.atomic():
        run = (
            ProvisioningRun.objects.select_for_update(of=("self",))
            .select_related("service_request__environment", "service_request__team")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.is_finished:  # rolled back, or a redelivery of a run that is already done
            return None
        if not run.service_request.is_open:
            run.status, run.finished_at = RunStatus.CANCELLED, timezone.now()
            run.error_message = "The request was closed before the run could finish."
            run.save(update_fields=["status", "finished_at", "error_message"])
            return None
        fields = ["attempts"]
        if run.status == RunStatus.QUEUED:
            run.status, run.started_at = RunStatus.RUNNING, timezone.now()
            fields += ["status", "started_at"]
        if not continuation:  # a poll is not a new attempt; a retry or redelivery is
            run.attempts += 1
        run.save(update_fields=fields)
        return run


def run_execute(*, run_id: int, continuation: bool = False) -> int | None:
    """Execute a run's remaining steps in order; returns seconds until the next poll, or None when it is done.

    Raises TransientIntegrationError for the task to retry with backoff; every other failure ends the run.
    """
    run = _claim(run_id, continuation=continuation)
    if run is None:
        return None
    action = catalogue.action_named(run.action)
    context = StepContext(run, poll_seconds=_poll_seconds())
    try:
        for step in run.steps.order_by("position"):
            if step.status in DONE_STEP_STATUSES:
                continue  # done by an earlier delivery: never repeated
            if step.status == StepStatus.FAILED:
                return None
            _step_begin(step)
            context.recorder.calls.clear()
            try:
                result = EXECUTORS[step.key](context)
                if result.poll_after is not None:
                    _step_progress(run, step, result, context)
                    return result.poll_after
            except TransientIntegrationError as exc:
                _step_transient(run, step, exc)
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
        run.save(update_fields=["status", "finished_at"])
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
        run.save(update_fields=["status", "finished_at", "error_message", "external_ids", "links"])
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


# --- just-in-time access -------------------------------------------------------------------------------------
def _grant_text(grant: AccessGrant) -> str:
    where = f"project {grant.target}" if grant.system == "gitlab" else f"namespace {grant.target}"
    return f"{SYSTEM_LABELS[grant.system]}: {grant.subject} as {grant.level} on {where}"


def _grant_record(run: ProvisioningRun, record: GrantRecord) -> AccessGrant:
    grant = AccessGrant.objects.filter(
        run=run, system=record.system, target=record.target, subject=record.subject
    ).first()
    created = grant is None
    grant = grant or AccessGrant(run=run, service_request_id=run.service_request_id, system=record.system)
    grant.subject, grant.target, grant.level = record.subject, record.target, record.level
    grant.subject_id, grant.binding_name, grant.expires_at = record.subject_id, record.binding_name, record.expires_at
    grant.revoked_at, grant.revoke_error = None, ""
    grant.full_clean(exclude=["run", "service_request"], validate_constraints=False)
    grant.save()
    if created:
        _event(
            run,
            actor=None,
            kind=EventKind.ACCESS_GRANTED,
            message=f"Access granted — {_grant_text(grant)}, until {grant.expires_at:%Y-%m-%d %H:%M} UTC; "
            "it is revoked automatically then.",
            grant=grant.pk,
        )
    return grant


def _grant_revoke(grant: AccessGrant) -> bool:
    adapter = adapter_for(grant.service_request.environment, grant.system)
    try:
        if grant.system == "gitlab":
            gitlab = cast("GitLabPort", adapter)  # the grant's system chose the adapter
            user_id = int(grant.subject_id) if grant.subject_id else gitlab.find_user_id(grant.subject)
            outcome = gitlab.remove_member(project_id=int(grant.target), user_id=user_id).outcome
        else:
            kubernetes = cast("KubernetesPort", adapter)
            outcome = kubernetes.delete_role_binding(namespace=grant.target, name=grant.binding_name).outcome
    except IntegrationError as exc:
        first = not grant.revoke_error or grant.revoke_error != exc.message
        grant.revoke_error, grant.revoke_attempts = exc.message, grant.revoke_attempts + 1
        grant.save(update_fields=["revoke_error", "revoke_attempts"])
        if first:  # audit the failure once per distinct error, not on every scan
            _event(
                grant.run,
                actor=None,
                kind=EventKind.ACCESS_REVOKE_FAILED,
                message=f"Could not revoke expired access — {_grant_text(grant)}: {exc.message} "
                "It is retried every scan.",
                grant=grant.pk,
            )
        return False
    finally:
        close = getattr(adapter, "close", None)
        if close:
            close()
    grant.revoked_at, grant.revoke_error = timezone.now(), ""
    grant.revoke_attempts += 1
    grant.save(update_fields=["revoked_at", "revoke_error", "revoke_attempts"])
    gone = " (it was already gone)" if outcome == "absent" else ""
    _event(
        grant.run,
        actor=None,
        kind=EventKind.ACCESS_REVOKED,
        message=f"Access revoked — {_grant_text(grant)}; it expired {grant.expires_at:%Y-%m-%d %H:%M} UTC{gone}.",
        grant=grant.pk,
    )
    return True


def access_grants_revoke_expired(*, now: datetime | None = None, batch: int = 100) -> int:
    """Revoke every grant past its expiry, including those that expired while no worker ran; safe on two workers."""
    now = now or timezone.now()
    revoked = 0
    tried: list[int] = []
    while True:
        with transaction.atomic():
            grants = list(
                AccessGrant.objects.expired(now)
                .exclude(pk__in=tried)
                .select_for_update(of=("self",), skip_locked=True)
                .select_related("service_request__environment", "run__service_request")
                .order_by("expires_at", "pk")[:batch]
            )
            for grant in grants:
                tried.append(grant.pk)
                revoked += _grant_revoke(grant)
        if len(grants) < batch:
            return revoked
