"""Inbound Jira webhooks: verify the signature, store the raw delivery, and process it later in a task.

Processing rules, in order:
- `jira:issue_created` in an environment's intake project files a portal request linked to that issue
  (`jira_bridge.intake`).
- An issue Portico has no link for is acknowledged and ignored.
- Comments land on the request's timeline (public, `jira_comment`), unless Portico posted them itself.
- A status change older than the newest event already applied for the issue is out of order and ignored; the
  echo of a status Portico pushed itself is ignored; otherwise the matching workflow transition runs through
  `request_transition` as the portal user the Jira user's e-mail belongs to, so the workflow's own visibility
  and permission checks apply. Without such a user it runs as the system, except for transitions that name a
  person (picking up). When the workflow does not allow it, or refuses that user, a `jira_conflict` is
  recorded for the program manager.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from integrations.models import Connection, System
from integrations.signatures import verify_hub_signature
from portal.exceptions import PortalError, ValidationFailed
from portal.json_input import json_loads_bounded
from portal.outbox import outbox_enqueue
from requests_app.choices import EventKind
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.services import request_transition
from requests_app.timeline import timeline_append

from .choices import DeliveryOutcome
from .constants import PROCESS_TASK
from .intake import jira_intake_file
from .mapping import TRANSITIONS_FOR_STATUS, VERBS, jira_status_for
from .models import JiraDelivery, JiraLink, JiraPush
from .payload import as_dict, event_time, person, text, user_by_email

if TYPE_CHECKING:
    from portal.models import User
    from requests_app.models import Environment

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature"
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
KEPT_HEADERS = ("Content-Type", "User-Agent", SIGNATURE_HEADER, DELIVERY_HEADER)
# A status push is matched to its echo only within this window; later the same status is somebody's decision.
ECHO_WINDOW = timedelta(hours=1)
# Transitions that name the person doing them (transition -> its argument): only a Jira user who is a portal
# user can run them, and then only as far as the workflow lets that user.
PERSONAL_TRANSITIONS: dict[str, str] = {"pick_up": "engineer_id"}


class WebhookUnauthorised(PortalError):
    """The delivery's signature is missing or matches no environment's webhook secret."""

    status_code = 401
    code = "unauthorised"


# --- receiving -----------------------------------------------------------------------------------------------
def _environment_for(raw_body: bytes, signature: str | None, environment_code: str | None) -> Environment | None:
    connections = Connection.objects.filter(system=System.JIRA, enabled=True).exclude(webhook_secret_env="")
    if environment_code:
        connections = connections.filter(environment__code=environment_code)
    for connection in connections.select_related("environment"):
        if verify_hub_signature(connection.webhook_secret(), raw_body, signature):
            return connection.environment
    return None


def jira_delivery_receive(
    *, raw_body: bytes, headers: Mapping[str, str], environment_code: str | None = None
) -> tuple[JiraDelivery, bool]:
    """Verify and store one delivery, and schedule its processing; (delivery, False) when it came before."""
    environment = _environment_for(raw_body, headers.get(SIGNATURE_HEADER), environment_code)
    if environment is None:
        # Nothing is stored for an unsigned or forged delivery, not even a log of its body.
        raise WebhookUnauthorised("Missing or invalid X-Hub-Signature.")
    try:
        payload = json_loads_bounded(raw_body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise ValidationFailed("The body is not a JSON object.", fields={"body": "Send the JSON Jira sends."})
    delivery_id = (headers.get(DELIVERY_HEADER) or "").strip()[:100] or (
        "sha256:" + hashlib.sha256(raw_body).hexdigest()
    )
    issue = as_dict(payload.get("issue"))
    with transaction.atomic():
        delivery, created = JiraDelivery.objects.get_or_create(
            delivery_id=delivery_id,
            defaults={
                "environment": environment,
                "webhook_event": str(payload.get("webhookEvent") or "")[:64],
                "issue_key": str(issue.get("key") or "")[:32],
                "headers": {name: headers[name] for name in KEPT_HEADERS if name in headers},
                "body": raw_body.decode("utf-8", "replace"),
                "event_at": event_time(payload),
            },
        )
        if created:
            outbox_enqueue(PROCESS_TASK, delivery_id=delivery.pk)
    return delivery, created


# --- processing ------------------------------------------------------------------------------------------------
@dataclass
class _Result:
    outcome: str = DeliveryOutcome.IGNORED
    notes: list[str] = field(default_factory=list)
    service_request: ServiceRequest | None = None

    def note(self, text: str, outcome: str | None = None) -> None:
        self.notes.append(text)
        # A conflict outranks an applied change, which outranks ignoring something.
        rank: list[str] = [DeliveryOutcome.IGNORED, DeliveryOutcome.APPLIED, DeliveryOutcome.CONFLICT]
        if outcome and rank.index(outcome) > rank.index(self.outcome):
            self.outcome = outcome


def jira_delivery_process(*, delivery: JiraDelivery) -> str:
    """Apply one stored delivery to the portal; a delivery is processed once, whatever redelivers it."""
    with transaction.atomic():
        delivery = JiraDelivery.objects.select_for_update().select_related("environment").get(pk=delivery.pk)
        if delivery.processed_at is not None:
            return delivery.outcome
        result = _Result()
        _apply(delivery, json.loads(delivery.body), result)
        delivery.outcome = result.outcome
        delivery.notes = "\n".join(result.notes)
        delivery.service_request = result.service_request
        delivery.processed_at = timezone.now()
        delivery.save(update_fields=["outcome", "notes", "service_request", "processed_at"])
    log.info("jira delivery %s: %s (%s)", delivery.delivery_id, delivery.outcome, "; ".join(result.notes))
    return delivery.outcome


def _apply(delivery: JiraDelivery, payload: dict[str, Any], result: _Result) -> None:
    webhook_event = str(payload.get("webhookEvent") or "")
    issue = as_dict(payload.get("issue"))
    key = str(issue.get("key") or "")
    if not key:
        result.note(f"{webhook_event or 'event'} names no issue")
        return
    if webhook_event == "jira:issue_created":
        filed = jira_intake_file(delivery=delivery, payload=payload, issue=issue)
        if filed is not None:
            result.service_request = filed.service_request
            result.note(filed.note, filed.outcome)
            return
    link = (
        JiraLink.objects.select_for_update()
        .select_related("service_request")
        .filter(environment=delivery.environment, jira_key=key)
        .first()
    )
    if link is None:
        result.note(f"{key} is not linked to a request in {delivery.environment}")
        return
    result.service_request = link.service_request
    if webhook_event == "jira:issue_created":
        result.note(f"{key} is the issue Portico created")
        return
    comment = payload.get("comment")
    if isinstance(comment, dict) and webhook_event in ("comment_created", "jira:issue_updated"):
        _comment(link, comment, result)
    if webhook_event == "jira:issue_updated":
        _changes(delivery, link, payload, result)
    elif webhook_event != "comment_created":
        result.note(f"{webhook_event or 'event'} is not handled")


def _comment(link: JiraLink, comment: dict[str, Any], result: _Result) -> None:
    comment_id = str(comment.get("id") or "")
    ours = JiraPush.objects.filter(link=link, jira_comment_id=comment_id).exclude(jira_comment_id="")
    if ours.exists():
        ours.filter(echoed_at__isnull=True).update(echoed_at=timezone.now())
        result.note(f"comment {comment_id} is Portico's own")
        return
    service_request = link.service_request
    seen = RequestEvent.objects.filter(
        service_request=service_request, kind=EventKind.JIRA_COMMENT, payload__jira_comment_id=comment_id
    )
    if comment_id and seen.exists():
        result.note(f"comment {comment_id} is already on the timeline")  # Jira sends it in two event types
        return
    body = text(comment.get("body"))
    if not body:
        result.note(f"comment {comment_id} is empty")
        return
    author, email = person(comment.get("author"))
    timeline_append(
        service_request,
        kind=EventKind.JIRA_COMMENT,
        message=f"{body}\n\n— {author}, in Jira ({link.jira_key})"[: settings.PORTICO_MAX_TEXT_LENGTH],
        payload={
            "source": "jira",
            "jira_key": link.jira_key,
            "jira_comment_id": comment_id,
            "author": author,
            "author_email": email,
        },
    )
    result.note(f"comment {comment_id} by {author} added to the timeline", DeliveryOutcome.APPLIED)


def _changes(delivery: JiraDelivery, link: JiraLink, payload: dict[str, Any], result: _Result) -> None:
    items = ((payload.get("changelog") or {}).get("items")) or []
    at = delivery.event_at
    if at is not None and link.last_event_at is not None and at <= link.last_event_at:
        if any(isinstance(i, dict) and i.get("field") == "status" for i in items):
            result.note(f"out of order: the newest event applied for {link.jira_key} is later; changes ignored")
        return
    if at is not None:
        link.last_event_at = at
        link.save(update_fields=["last_event_at", "updated_at"])
    for item in items:
        if not isinstance(item, dict):
            continue
        name = str(item.get("field") or "").lower()
        value = str(item.get("toString") or "")
        if name == "status":
            _status(delivery, link, value, payload, result)
        elif name in ("priority", "assignee"):
            if _echo(link, name, value):
                result.note(f"{name} {value!r} is the echo of Portico's change")
            else:
                result.note(f"{name} changed to {value!r} in Jira; the portal keeps its own")


def _echo(link: JiraLink, field_name: str, value: str) -> bool:
    """Whether `value` is a change Portico pushed recently and has not seen echoed yet; marks it seen."""
    push = (
        JiraPush.objects.filter(
            link=link,
            field=field_name,
            value__iexact=value,
            outcome="pushed",
            echoed_at__isnull=True,
            pushed_at__gte=timezone.now() - ECHO_WINDOW,
        )
        .order_by("pushed_at")
        .first()
    )
    if push is None:
        return False
    JiraPush.objects.filter(pk=push.pk).update(echoed_at=timezone.now())
    return True


def _status(delivery: JiraDelivery, link: JiraLink, status: str, payload: dict[str, Any], result: _Result) -> None:
    if _echo(link, "status", status):
        result.note(f"status {status!r} is the echo of Portico's change")
        return
    service_request = ServiceRequest.objects.get(pk=link.service_request_id)
    current = jira_status_for(service_request.state)
    if current and current.lower() == status.lower():
        result.note(f"status {status!r} already matches {service_request.get_state_display().lower()}")
        return
    who, email = person(payload.get("user"))
    actor = user_by_email(email)  # None: Jira's user is nobody Portico knows, so the system acts
    name = _transition_for(service_request, status, actor)
    context = {"source": "jira", "jira_key": link.jira_key, "jira_status": status, "delivery": delivery.delivery_id}
    if name is not None:
        message = f"{VERBS[name]} in Jira by {who} ({link.jira_key} → {status})."
        arguments: dict[str, Any] = {}
        if name in PERSONAL_TRANSITIONS and actor is not None:
            arguments[PERSONAL_TRANSITIONS[name]] = actor.pk
        if name == "resolve":
            arguments["note"] = message
        try:
            service_request, _event = request_transition(
                service_request, name, actor=actor, message=message, payload=context, **arguments
            )
        except PortalError as exc:
            # The workflow refused this user (not their request, or not their step): the PM reconciles it.
            log.info("jira: %s could not %s as %s: %s", service_request.reference, name, actor, exc.message)
        else:
            link.pushed_status = jira_status_for(service_request.state) or status
            link.save(update_fields=["pushed_status", "updated_at"])
            result.note(f"status {status!r}: ran {name}", DeliveryOutcome.APPLIED)
            return
    state = service_request.get_state_display().lower()
    if name is not None and actor is not None:
        why = f"their portal account {actor.get_username()} may not {name.replace('_', ' ')} this request"
    else:
        why = f"a request that is {state} cannot follow that in the portal's workflow"
    timeline_append(
        service_request,
        kind=EventKind.JIRA_CONFLICT,
        message=f"{who} moved {link.jira_key} to “{status}” in Jira, but {why}. Please reconcile the two.",
        internal=True,
        payload={**context, "state": service_request.state, "refused": name or ""},
    )
    result.note(f"status {status!r} conflicts with {state}", DeliveryOutcome.CONFLICT)


def _transition_for(service_request: ServiceRequest, status: str, actor: User | None) -> str | None:
    """The first transition Jira's new status maps to that the request's state allows now.

    Who may run it is the workflow's question, asked by `request_transition`; only a transition that names a
    person is skipped when there is no person to name."""
    for name in TRANSITIONS_FOR_STATUS.get(status.lower(), ()):
        if name in PERSONAL_TRANSITIONS and actor is None:
            continue
        if can_proceed(getattr(service_request, name)):
            return name
    return None
