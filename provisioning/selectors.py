"""Reads for the runs panel and the API: runs with their steps, and what the viewer may do with them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from portal.exceptions import PortalError
from requests_app import catalogue

from .choices import RunStatus
from .models import ProvisioningRun, ProvisioningStep

if TYPE_CHECKING:
    from datetime import datetime

    from portal.models import User
    from requests_app.models import ServiceRequest

    from .services.control import Verb


def runs_for_request(service_request: ServiceRequest, *, user: User) -> QuerySet[ProvisioningRun]:
    """The request's runs the user may see (all of them, or none), newest first, steps prefetched in order."""
    return (
        ProvisioningRun.objects.visible_to(user)
        .filter(service_request=service_request)
        .select_related("created_by")
        .prefetch_related(Prefetch("steps", queryset=ProvisioningStep.objects.order_by("position")))
        .order_by("-created_at", "-pk")
    )


@dataclass(frozen=True)
class RunsPanel:
    """Everything the runs panel shows: the runs, the start button (or why there is none), which runs can be
    retried, cancelled or resumed, and which are stuck (active, but their worker stopped reporting)."""

    runs: list[ProvisioningRun]
    action: catalogue.Action | None
    can_start: bool
    start_refusal: str
    retryable: frozenset[int]
    cancellable: frozenset[int] = frozenset()
    resumable: frozenset[int] = frozenset()
    stuck: frozenset[int] = frozenset()

    @property
    def polling(self) -> bool:
        return any(run.is_active for run in self.runs)


def _may(run: ProvisioningRun, user: User, verb: Verb, now: datetime) -> bool:
    from .services import run_control_check

    try:
        run_control_check(run, actor=user, verb=verb, now=now)
    except PortalError:
        return False
    return True


def runs_panel(service_request: ServiceRequest, *, user: User) -> RunsPanel:
    """The runs panel for `user` on `service_request`; the start, retry, cancel and resume checks are the services'
    own."""
    from .services import run_start_check

    runs = list(runs_for_request(service_request, user=user))
    offered = catalogue.actions_for(service_request.request_type)
    action = offered[0] if offered else None
    can_start, refusal = False, ""
    if action is not None:
        try:
            run_start_check(service_request, actor=user, action=action.name)
            can_start = True
        except PortalError as exc:
            refusal = exc.message
    retryable = set()
    for run in runs:
        if run.status == RunStatus.FAILED:
            try:
                run_start_check(service_request, actor=user, action=run.action)
                retryable.add(run.pk)
            except PortalError:
                pass
    now = timezone.now()
    active = [run for run in runs if run.is_active]
    for run in active:
        run.service_request = service_request  # the checks read it; it is the request the panel is for
    stuck = frozenset(run.pk for run in active if run.is_stuck(now))
    return RunsPanel(
        runs,
        action,
        can_start,
        refusal,
        frozenset(retryable),
        cancellable=frozenset(run.pk for run in active if _may(run, user, "cancel", now)),
        resumable=frozenset(run.pk for run in active if _may(run, user, "resume", now)),
        stuck=stuck,
    )
