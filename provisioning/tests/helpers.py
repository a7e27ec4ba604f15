"""Helpers for provisioning tests: file requests with parameters and drive runs the way the task would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.errors import TransientIntegrationError
from provisioning import services
from provisioning.models import ProvisioningRun
from requests_app import services as request_services
from requests_app.choices import RequestType
from requests_app.testing.workflow import file_request

NAMESPACE_PARAMETERS = {"namespace": "mgramseva-uat", "cpu": "4", "memory": "8Gi", "team_group": "mgramseva-devs"}


def in_progress(world: Any, *, request_type: str = RequestType.INFRA_PROVISION, **parameters: Any) -> Any:
    """A request filed with `parameters`, triaged to vendor A, approved if it needs it, and picked up."""
    service_request = file_request(world, request_type=request_type, parameters=parameters or NAMESPACE_PARAMETERS)
    service_request = request_services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
    if service_request.needs_approval:
        service_request = request_services.request_approve(service_request, actor=world.approver)
    return request_services.request_pick_up(service_request, actor=world.vendor_engineer)


@dataclass
class Drive:
    """What driving a run the way the task does took: transient failures retried and polls made."""

    run: ProvisioningRun
    transient: int
    polls: int


def drive(run: ProvisioningRun, *, limit: int = 30) -> Drive:
    """Execute `run` in-process the way the Celery task would: retry on transient errors, poll until done."""
    transient = polls = 0
    continuation = False
    for _ in range(limit):
        try:
            poll_after = services.run_execute(run_id=run.pk, continuation=continuation)
        except TransientIntegrationError:
            transient += 1
            continuation = False
            continue
        if poll_after is None:
            run.refresh_from_db()
            return Drive(run, transient, polls)
        polls += 1
        continuation = True
    raise AssertionError(f"run {run.pk} did not finish in {limit} executions")
