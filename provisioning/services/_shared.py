"""What every part of the run services shares: the task a run is sent to, and how a run is audited and locked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portal.outbox import outbox_enqueue
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.timeline import timeline_append

from ..models import ProvisioningRun

if TYPE_CHECKING:
    from portal.models import User

EXECUTE_TASK = "provisioning.tasks.provisioning_run_execute"


def enqueue(run: ProvisioningRun) -> None:
    """Send the run to a worker once the transaction commits (through the outbox)."""
    outbox_enqueue(EXECUTE_TASK, run_id=run.pk)


def event(run: ProvisioningRun, *, actor: User | None, kind: str, message: str, **payload: Any) -> RequestEvent:
    """Append `message` about `run` to its request's timeline."""
    return timeline_append(
        run.service_request,
        actor=actor,
        kind=kind,
        message=message,
        payload={"run": run.pk, "action": run.action, **payload},
    )


def lock_request(service_request: ServiceRequest) -> ServiceRequest:
    """The request's row, locked: two clicks at once serialise on it."""
    return (
        ServiceRequest.objects.select_for_update(of=("self",))
        .select_related("environment", "team")
        .get(pk=service_request.pk)
    )
