"""Starting and retrying runs: the checks a start must pass, the frozen parameters, the audit and the send."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.connections import connection_for
from portal.exceptions import Conflict, Forbidden, InvalidTransition, NotFound, PortalError, ValidationFailed
from requests_app import catalogue
from requests_app import permissions as perms
from requests_app.choices import EventKind, RequestState
from requests_app.compiled import request_visible
from requests_app.models import ServiceRequest
from requests_app.timeline import SYSTEM_ACTOR, timeline_append

from ..choices import DONE_STEP_STATUSES, RunStatus, StepStatus
from ..models import AccessGrant, ProvisioningRun, ProvisioningStep
from ._shared import enqueue as _enqueue
from ._shared import event as _event
from ._shared import lock_request as _lock_request
from .grants import SYSTEM_LABELS
from .leases import lease_until

if TYPE_CHECKING:
    from portal.models import User


def _approved(service_request: ServiceRequest) -> bool:
    # The event, not the state: a request whose type the PM changed after triage was never approved.
    return service_request.events.filter(kind=EventKind.APPROVE).exists()


# --- starting and retrying -----------------------------------------------------------------------------------
def run_succeeded_before(service_request: ServiceRequest, action: str) -> ProvisioningRun | None:
    """The latest succeeded run of `action` on this request: once there is one, running it again needs a reason."""
    runs = ProvisioningRun.objects.filter(service_request=service_request, action=action, status=RunStatus.SUCCEEDED)
    return runs.order_by("-finished_at", "-pk").first()


def grant_targets(action: catalogue.Action, parameters: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(system, target, subject) of each just-in-time grant the action would give: what must not be granted twice."""
    if action.name != "jit_access":
        return []
    targets = []
    if parameters["system"] in ("gitlab", "both"):
        targets.append(("gitlab", str(parameters["gitlab_project"]), parameters["username"]))
    if parameters["system"] in ("kubernetes", "both"):
        targets.append(("kubernetes", parameters["kubernetes_namespace"], parameters["username"]))
    return targets


def _refuse_active_grant(
    action: catalogue.Action, parameters: Mapping[str, Any], now: datetime, *, retrying: int | None
) -> None:
    """A second just-in-time grant for the same user and target while one is active would silently extend it
    (and a second revoke would cut the first): refuse, saying until when the first one lasts."""
    for system, target, subject in grant_targets(action, parameters):
        grant = (
            AccessGrant.objects.live()
            .filter(system=system, target=target, subject=subject, expires_at__gt=now)
            .exclude(run_id=retrying)  # a retry finishes its own run's grants; it does not add a second one
            .order_by("-expires_at")
            .first()
        )
        if grant is not None:
            where = f"project {target}" if system == "gitlab" else f"namespace {target}"
            raise Conflict(
                f"{subject} already has {SYSTEM_LABELS[system]} access to {where} until "
                f"{grant.expires_at:%Y-%m-%d %H:%M} UTC; a second grant is refused while it is active. "
                "Run it again after it expires or is revoked.",
                extra={"grant_expires_at": grant.expires_at.isoformat(), "system": system, "target": target},
            )


def run_start_check(
    service_request: ServiceRequest,
    *,
    actor: User | None,
    action: str | None = None,
    reason: str | None = None,
    retrying: int | None = None,
) -> catalogue.Action:
    """Raise what starting `action` as `actor` now would (404, 409, 403, 400); return the action otherwise.

    `reason` is what a "run again" says: once the action has succeeded on this request, another run needs one
    (None skips that question, for callers that only ask whether the rest would pass)."""
    if actor is not None and not request_visible(actor, service_request.pk):
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
    parameters = catalogue.parameters_clean(chosen, service_request.parameters)
    if ProvisioningRun.objects.active().filter(service_request=service_request, action=chosen.name).exists():
        raise Conflict(f"“{chosen.label}” is already running for {service_request.reference}; wait for it to finish.")
    _refuse_active_grant(chosen, parameters, timezone.now(), retrying=retrying)
    previous = run_succeeded_before(service_request, chosen.name)
    if previous is not None and reason is not None and not reason.strip():
        raise ValidationFailed(
            f"“{chosen.label}” already succeeded (run #{previous.pk}); to run it again, say why.",
            fields={"reason": "Say why the action must run again; it goes on the timeline."},
            extra={"succeeded_run": previous.pk},
        )
    return chosen


def _snapshot(action: catalogue.Action, parameters: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    snapshot = dict(parameters)
    if action.name == "jit_access":
        # The clock starts when access is (re)granted, and never later: a retry gets a fresh window.
        snapshot["expires_at"] = (now + timedelta(hours=int(parameters["duration_hours"]))).isoformat()
    return snapshot


def run_parameters_snapshot(action: catalogue.Action, parameters: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The parameters a run starting at `now` freezes (a grant's expiry included): what the plan shows, too."""
    return _snapshot(action, catalogue.parameters_clean(action, parameters), now)


@transaction.atomic
def run_start(
    service_request: ServiceRequest, *, actor: User | None, action: str | None = None, reason: str = ""
) -> ProvisioningRun:
    """Start the request's automation (an engineer of its vendor, or Portico itself after approval); once the
    action has succeeded, only as an explicit "run again" with a `reason`."""
    locked = _lock_request(service_request)  # two clicks at once: the second sees the first run
    chosen = run_start_check(locked, actor=actor, action=action, reason=reason)
    again = run_succeeded_before(locked, chosen.name)
    now = timezone.now()
    parameters = run_parameters_snapshot(chosen, locked.parameters, now)
    systems = chosen.systems(parameters)
    run = ProvisioningRun(
        service_request=locked,
        action=chosen.name,
        parameters=parameters,
        created_by=actor,
        created_at=now,
        lease_expires_at=lease_until(now),  # a worker should claim it by then; if none does, the sweeper sends it again
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
    extra: dict[str, Any] = {}
    if again is not None:
        who = f" again (run #{again.pk} had succeeded)"
        dry += f" Reason: {reason.strip()}"
        extra = {"again_after": again.pk, "reason": reason.strip()}
    _event(
        run,
        actor=actor,
        kind=EventKind.PROVISIONING_STARTED,
        message=f"Automation run #{run.pk} started{who}: {chosen.label}{dry}.",
        **extra,
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
    chosen = run_start_check(locked_request, actor=actor, action=run.action, retrying=run.pk)
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
    run.lease_owner, run.lease_expires_at = "", lease_until(now)
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


@transaction.atomic
def run_start_break_glass(
    service_request: ServiceRequest, *, actor: User, parameters: Mapping[str, Any], reason: str
) -> ProvisioningRun:
    """Just-in-time access at once, without approval, marked break-glass: the caller (incidents) has checked that
    `actor` is on call for this open P0; the usual guards against a running run and a live grant still apply."""
    locked = _lock_request(service_request)
    chosen = catalogue.action_named("jit_access")
    cleaned = catalogue.parameters_clean(chosen, parameters)
    if ProvisioningRun.objects.active().filter(service_request=locked, action=chosen.name).exists():
        raise Conflict(f"“{chosen.label}” is already running for {locked.reference}; wait for it to finish.")
    now = timezone.now()
    _refuse_active_grant(chosen, cleaned, now, retrying=None)
    snapshot = _snapshot(chosen, cleaned, now)
    run = ProvisioningRun(
        service_request=locked,
        action=chosen.name,
        parameters=snapshot,
        created_by=actor,
        created_at=now,
        lease_expires_at=lease_until(now),
        dry_run=any(connection_for(locked.environment, system) is None for system in chosen.systems(snapshot)),
        break_glass=True,
    )
    run.full_clean(exclude=["service_request", "created_by"], validate_constraints=False)
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError as exc:
        raise Conflict(f"“{chosen.label}” is already running for {locked.reference}.") from exc
    ProvisioningStep.objects.bulk_create(
        ProvisioningStep(run=run, position=position, key=plan.key, title=plan.title)
        for position, plan in enumerate(chosen.plan(snapshot), 1)
    )
    _event(
        run,
        actor=actor,
        kind=EventKind.BREAK_GLASS,
        message=f"Break-glass access taken without approval: {chosen.summary(cleaned)}. Reason: {reason}. "
        "eGov DevOps must review it.",
        break_glass=True,
    )
    _enqueue(run)
    return run
