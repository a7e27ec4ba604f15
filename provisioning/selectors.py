"""Reads for the runs panel and the API: runs with their steps, and what the viewer may do with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.connections import connection_for
from integrations.errors import SYSTEM_NAMES, IntegrationError
from integrations.registry import get_adapter
from portal.exceptions import PortalError
from requests_app import catalogue
from requests_app.choices import RequestState
from requests_app.compiled import rows_of_request

from .choices import RunStatus
from .models import ProvisioningRun, ProvisioningStep
from .steps import EXECUTORS, StepContext, StepFailed

if TYPE_CHECKING:
    from portal.models import User
    from requests_app.models import ServiceRequest

    from .services.control import Verb


def _runs_of(viewer: User, request_id: int) -> QuerySet[ProvisioningRun]:
    return (
        ProvisioningRun.objects.visible_to(viewer)
        .filter(service_request=request_id)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )


def runs_for_panel(service_request: ServiceRequest, *, user: User) -> list[ProvisioningRun]:
    """`runs_for_request` read through a query compiled once per process and viewer shape (the request page reads
    it on every visit); the steps are prefetched only when there are runs."""
    runs = rows_of_request(_runs_of, service_request.pk, user=user)
    if runs:
        prefetch_related_objects(runs, Prefetch("steps", queryset=ProvisioningStep.objects.order_by("position")))
    return runs


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
    # After a success the start button gives way to "Run again", which asks for a reason.
    succeeded_run: ProvisioningRun | None = None
    can_run_again: bool = False
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

    runs = runs_for_panel(service_request, user=user)
    offered = catalogue.actions_for(service_request.request_type)
    action = offered[0] if offered else None
    can_start = can_run_again = False
    refusal = ""
    succeeded = None
    if action is not None:
        succeeded = next((run for run in runs if run.action == action.name and run.status == RunStatus.SUCCEEDED), None)
        try:
            # A "run again" is judged as if its reason were given: the form asks for it.
            run_start_check(service_request, actor=user, action=action.name, reason="?" if succeeded else "")
            can_start, can_run_again = succeeded is None, succeeded is not None
        except PortalError as exc:
            refusal = exc.message
    retryable = set()
    for run in runs:
        if run.status == RunStatus.FAILED:
            try:
                run_start_check(service_request, actor=user, action=run.action, retrying=run.pk)
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
        succeeded_run=succeeded,
        can_run_again=can_run_again,
        cancellable=frozenset(run.pk for run in active if _may(run, user, "cancel", now)),
        resumable=frozenset(run.pk for run in active if _may(run, user, "resume", now)),
        stuck=stuck,
    )


# --- the plan: what a run would do -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedStep:
    """One step of the plan and the calls the dry-run twins record for it (method, HTTP method, path, params)."""

    key: str
    title: str
    calls: list[dict[str, Any]]


@dataclass(frozen=True)
class RunPlan:
    """What the request's automation would do if it started now: its parameters, each step with the target system
    calls, whether the real run would send them (or be a dry run), and for just-in-time access how long it lasts."""

    action: catalogue.Action
    parameters: dict[str, Any]
    steps: list[PlannedStep] = field(default_factory=list)
    problem: str = ""  # why there is no plan (no or invalid parameters)
    dry_run: bool = True
    systems: tuple[str, ...] = ()
    access_hours: int | None = None
    access_until: datetime | None = None
    starts_on_approval: bool = False

    @property
    def system_names(self) -> str:
        return " and ".join(SYSTEM_NAMES.get(system, system) for system in self.systems)


class _PlanContext(StepContext):
    """A step context whose adapters are always the dry-run twins, whatever connection the environment has:
    planning must never touch a real system."""

    def adapter(self, system: str) -> Any:
        if system not in self._adapters:
            self._adapters[system] = get_adapter(system, None, recorder=self.recorder)
        return self._adapters[system]


def run_plan(service_request: ServiceRequest, *, now: datetime | None = None) -> RunPlan | None:
    """The plan of the request's automation (None when its type has none), made by executing the action's own
    steps against the dry-run twins: the same code and the same calls a dry-run execution records."""
    from .services import run_parameters_snapshot

    offered = catalogue.actions_for(service_request.request_type)
    if not offered:
        return None
    action = offered[0]
    if not service_request.parameters:
        return RunPlan(action, {}, problem="No automation parameters were given; the vendor does this by hand.")
    now = now or timezone.now()
    try:
        parameters = run_parameters_snapshot(action, service_request.parameters, now)
    except PortalError as exc:
        return RunPlan(action, dict(service_request.parameters), problem=exc.message)
    run = ProvisioningRun(service_request=service_request, action=action.name, parameters=parameters, created_at=now)
    context = _PlanContext(run, poll_seconds=0)
    steps = []
    try:
        for planned in action.plan(parameters):
            context.recorder.calls.clear()
            result = EXECUTORS[planned.key](context)
            # Later steps read what earlier ones produced (a pipeline's id), as in a real run.
            run.external_ids = {**run.external_ids, **result.run_external_ids}
            steps.append(PlannedStep(planned.key, planned.title, context.recorder.as_steps()))
    except (IntegrationError, StepFailed) as exc:
        return RunPlan(action, parameters, problem=f"The plan could not be made: {exc}")
    finally:
        context.close()
    systems = action.systems(parameters)
    hours = int(parameters["duration_hours"]) if "duration_hours" in parameters else None
    return RunPlan(
        action,
        {name: value for name, value in parameters.items() if name != "expires_at"},
        steps,
        dry_run=any(connection_for(service_request.environment, system) is None for system in systems),
        systems=systems,
        access_hours=hours,
        access_until=parse_datetime(parameters["expires_at"]) if "expires_at" in parameters else None,
        starts_on_approval=service_request.needs_approval
        and service_request.state in (RequestState.SUBMITTED, RequestState.PENDING_APPROVAL),
    )
