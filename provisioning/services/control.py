"""Runs that lost their worker, and the people who may step in.

The sweeper (`runs_resume_stuck`, from beat every 30 s) sends an active run whose lease lapsed to another worker:
steps already done are skipped there, and the lease keeps two deliveries from executing it at once. The program
manager and engineers of the request's vendor may cancel a queued or running run, or resume a stuck one
themselves, from the request page or the API.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.exceptions import Conflict, Forbidden, NotFound
from requests_app import permissions as perms
from requests_app.choices import EventKind
from requests_app.models import ServiceRequest
from requests_app.timeline import SYSTEM_ACTOR

from ..choices import RunStatus, StepStatus
from ..models import ProvisioningRun
from ._shared import enqueue as _enqueue
from ._shared import event as _event
from .execute import run_fail
from .leases import lease_until

if TYPE_CHECKING:
    from portal.models import User

logger = logging.getLogger(__name__)
Verb = Literal["cancel", "resume"]


def _clock(at: datetime | None) -> str:
    return f"{at:%H:%M:%S} UTC" if at else "never"


def run_control_check(run: ProvisioningRun, *, actor: User, verb: Verb, now: datetime | None = None) -> None:
    """Raise what cancelling or resuming `run` as `actor` now would (404, 403, 409); return otherwise."""
    service_request = run.service_request
    if not ServiceRequest.objects.visible_to(actor).filter(pk=service_request.pk).exists():
        raise NotFound(f"No request {service_request.reference}.")
    if not (perms.is_program_manager(actor) or perms.is_vendor_member(service_request, actor)):
        raise Forbidden(
            "Only the program manager and engineers of the vendor assigned to this request can cancel or resume "
            "its automation."
        )
    status = run.get_status_display().lower()
    if verb == "cancel":
        if not run.is_active:
            raise Conflict(f"Only a queued or running run can be cancelled; run #{run.pk} is {status}.")
        return
    if not run.is_active:
        hint = " Retry it instead." if run.status == RunStatus.FAILED else ""
        raise Conflict(f"Only a stuck run can be resumed; run #{run.pk} is {status}.{hint}")
    now = now or timezone.now()
    if not run.is_stuck(now):
        raise Conflict(
            f"Run #{run.pk} is in a worker's hands (last heartbeat {_clock(run.heartbeat_at)}); it can be resumed "
            f"if it stops reporting until {_clock(run.lease_expires_at)}."
        )
    if not service_request.is_open:
        state = service_request.get_state_display().lower()
        raise Conflict(f"{service_request.reference} is {state}; its automation cannot resume.")


def _locked(run: ProvisioningRun) -> ProvisioningRun:
    return ProvisioningRun.objects.select_for_update(of=("self",)).select_related("service_request").get(pk=run.pk)


def _resume(run: ProvisioningRun, *, actor: User | None, now: datetime) -> bool:
    """Send a stuck run (locked by the caller) to a worker again; True when it had been running (a real resume)."""
    was_running = run.status == RunStatus.RUNNING
    worker, heartbeat = run.lease_owner, run.heartbeat_at
    run.lease_owner, run.lease_expires_at = "", lease_until(now)
    fields = ["lease_owner", "lease_expires_at"]
    if actor is None and was_running:
        run.resumes += 1
        fields.append("resumes")
    run.save(update_fields=fields)
    _enqueue(run)
    if actor is None and not was_running:
        # No worker ever claimed it (its message went missing with a dead worker): sending it again is not news.
        logger.info("run %s was queued and never claimed; sent again", run.pk)
        return False
    why = (
        f"its worker stopped reporting (last heartbeat {_clock(heartbeat)})"
        if actor is None
        else f"it had stopped (last heartbeat {_clock(heartbeat)})"
    )
    who = f" by {SYSTEM_ACTOR}" if actor is None else ""
    _event(
        run,
        actor=actor,
        kind=EventKind.PROVISIONING_RESUMED,
        message=f"Automation run #{run.pk} resumed{who}: {why}. Steps already done are not repeated.",
        resumes=run.resumes,
        worker=worker,
        last_heartbeat=heartbeat.isoformat() if heartbeat else None,
    )
    return was_running


def runs_resume_stuck(*, now: datetime | None = None, batch: int = 50) -> int:
    """Resume active runs whose lease lapsed (their worker died); safe on two workers at once. Returns how many
    running runs were resumed. A run resumed PORTICO_PROVISIONING_MAX_RESUMES times already is failed instead."""
    now = now or timezone.now()
    resumed = 0
    with transaction.atomic():
        stuck = list(
            ProvisioningRun.objects.active()
            .filter(Q(lease_expires_at__lte=now) | Q(lease_expires_at__isnull=True))
            .select_for_update(of=("self",), skip_locked=True)  # another sweeper, or a worker claiming it now
            .select_related("service_request")
            .order_by("lease_expires_at", "pk")[:batch]
        )
        for run in stuck:
            if run.status == RunStatus.RUNNING and run.resumes >= settings.PORTICO_PROVISIONING_MAX_RESUMES:
                run_fail(
                    run_id=run.pk,
                    message=f"The worker running it stopped {run.resumes + 1} times; Portico no longer resumes it.",
                )
                continue
            resumed += _resume(run, actor=None, now=now)
    return resumed


@transaction.atomic
def run_resume(run: ProvisioningRun, *, actor: User) -> ProvisioningRun:
    """Send a stuck run to a worker now (the program manager or the vendor's engineers); done steps are skipped."""
    run = _locked(run)
    now = timezone.now()
    run_control_check(run, actor=actor, verb="resume", now=now)
    _resume(run, actor=actor, now=now)
    return run


@transaction.atomic
def run_cancel(run: ProvisioningRun, *, actor: User, reason: str = "") -> ProvisioningRun:
    """Stop a queued or running run; its worker stops before its next step. Nothing done in the systems is undone."""
    run = _locked(run)
    run_control_check(run, actor=actor, verb="cancel")
    reason = (reason or "").strip()
    run.status, run.finished_at = RunStatus.CANCELLED, timezone.now()
    run.error_message = f"Cancelled by {actor.get_username()}" + (f": {reason}" if reason else ".")
    run.lease_owner, run.lease_expires_at = "", None
    run.save(update_fields=["status", "finished_at", "error_message", "lease_owner", "lease_expires_at"])
    # A step in flight may still finish (its worker then records what it did); until then it is not running.
    run.steps.filter(status=StepStatus.RUNNING).update(
        status=StepStatus.PENDING, output_text="Cancelled while this step ran; it may have been partly done."
    )
    _event(
        run,
        actor=actor,
        kind=EventKind.PROVISIONING_CANCELLED,
        message=f"Automation run #{run.pk} cancelled"
        + (f": {reason}" if reason else ".")
        + " What its finished steps did in the systems stays; start a new run to finish the work.",
        reason=reason,
    )
    return run
