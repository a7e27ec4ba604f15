"""The request's timeline, at the bottom of the request domain: the one way any app records what happened.

`timeline_append` validates and stores one `RequestEvent` (the append-only audit trail) and hands it to the event
registry (`portal.events`), where notifications, the Jira mirror and provisioning react in the same transaction.
It imports nothing above the request models, so the SLA engine, provisioning and Jira can all record through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from portal.events import registry
from portal.exceptions import ValidationFailed

from .constants import SYSTEM_ACTOR
from .models import RequestEvent

__all__ = ["SYSTEM_ACTOR", "model_full_clean", "timeline_append"]

if TYPE_CHECKING:
    from portal.models import User

    from .models import ServiceRequest


def model_full_clean(instance: Any, *, exclude: list[str] | None = None) -> None:
    """`full_clean()` that reports as a 400 with field errors; never re-assigns the protected FSM field."""
    # clean_fields() re-assigns every field, which a protected FSM field refuses; the FSM guards it anyway.
    exclude = [*(exclude or []), "state"]
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise ValidationFailed("Please correct the highlighted fields.", fields=exc.message_dict) from exc


def timeline_append(
    service_request: ServiceRequest,
    *,
    kind: str,
    actor: User | None = None,
    message: str = "",
    internal: bool = False,
    payload: dict[str, Any] | None = None,
    from_state: str = "",
    to_state: str = "",
) -> RequestEvent:
    """Store one event on `service_request`'s timeline (actor None: Portico itself) and dispatch it to handlers."""
    event = RequestEvent(
        service_request=service_request,
        actor=actor,
        kind=kind,
        message=message,
        internal=internal,
        payload=payload or {},
        from_state=from_state,
        to_state=to_state,
    )
    model_full_clean(event, exclude=["service_request", "actor"])
    event.save()
    registry.dispatch(event)
    return event
