"""Test helpers that build requests the honest way: through the services, one transition at a time."""

from __future__ import annotations

from typing import Any

from requests_app import services
from requests_app.choices import Priority, RequestState, RequestType
from requests_app.models import ServiceRequest

# The shortest path of (transition, actor attribute on World, arguments) that reaches each state.
PATHS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    RequestState.SUBMITTED: [],
    RequestState.QUEUED: [("triage", "pm", {"vendor": "vendor_a"})],
    RequestState.IN_PROGRESS: [("triage", "pm", {"vendor": "vendor_a"}), ("pick_up", "vendor_engineer", {})],
}
PATHS[RequestState.WAITING_ON_REQUESTER] = [
    *PATHS[RequestState.IN_PROGRESS],
    ("request_info", "vendor_engineer", {"reason": "Which cluster?"}),
]
PATHS[RequestState.BLOCKED] = [
    *PATHS[RequestState.IN_PROGRESS],
    ("escalate", "vendor_engineer", {"reason": "No quota left"}),
]
PATHS[RequestState.RESOLVED] = [*PATHS[RequestState.IN_PROGRESS], ("resolve", "vendor_engineer", {"reason": "Done"})]
PATHS[RequestState.CLOSED] = [*PATHS[RequestState.RESOLVED], ("confirm", "requester", {})]
PATHS[RequestState.REJECTED] = [("reject", "pm", {"reason": "Duplicate"})]
PATHS[RequestState.CANCELLED] = [("cancel", "requester", {})]
PATHS[RequestState.PENDING_APPROVAL] = [("triage", "pm", {"vendor": "vendor_a"})]  # with an AccessOps request


def file_request(world: Any, **overrides: Any) -> ServiceRequest:
    """File a request as the world's requester through the real service."""
    fields: dict[str, Any] = {
        "title": "Namespace for mGramSeva UAT",
        "description": "We need a namespace with 4 CPUs.",
        "request_type": RequestType.INFRA_PROVISION,
        "priority": Priority.P2,
        "environment": world.environment,
        "stack": world.stack,
    }
    fields.update(overrides)
    actor = fields.pop("actor", world.requester)
    return services.request_file(actor=actor, **fields)


def walk_to(world: Any, state: str, **file_overrides: Any) -> ServiceRequest:
    """A freshly filed request moved through the workflow until it is in `state`."""
    if state == RequestState.PENDING_APPROVAL:
        file_overrides.setdefault("request_type", RequestType.ACCESS_OPS)
    service_request = file_request(world, **file_overrides)
    for name, actor_name, arguments in PATHS[state]:
        kwargs = {key: getattr(world, value) if key == "vendor" else value for key, value in arguments.items()}
        service_request = services.TRANSITIONS[name].service(
            service_request, actor=getattr(world, actor_name), **kwargs
        )
    if service_request.state != state:
        raise AssertionError(f"walked to {service_request.state}, wanted {state}")
    return service_request
