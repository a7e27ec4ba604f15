"""Inbound Jira webhooks: verify the signature, store the raw delivery, and process it later in a task.

Processing rules, in order:
- `jira:issue_created` in an environment's intake project files a portal request linked to that issue
  (`jira_bridge.intake`).
- `issuelink_created` / `issuelink_deleted` add or remove the portal link between two mirrored requests
  (`jira_bridge.issue_links`).
- An issue Portico has no link for is acknowledged and ignored.
- Comments land on the request's timeline (public, `jira_comment`), unless Portico posted them itself.
- Changes (status, priority, assignee) older than the newest event already applied for the issue are out of
  order and ignored, and so is the echo of a change Portico pushed itself. Otherwise each goes through the same
  service as in the UI, as the portal user the Jira user's e-mail belongs to, so the services' own visibility and
  permission checks decide; the Jira user is recorded in the payload (or, for edits, the reason) of the event:
  - a status runs the matching workflow transition (`request_transition`); without a portal user it runs as the
    system, except for transitions that name a person (picking up);
  - a priority runs `request_update` (only the program manager may change it);
  - an assignee runs `request_reassign` to the portal user the new assignee's e-mail belongs to (an engineer of
    the request's vendor; the program manager or the vendor's lead reassigns).
  A change the workflow or the service refuses, or one by or for somebody the portal does not know, is recorded
  as an internal `jira_conflict` for the program manager.
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
from django.db.models import Q
from django.utils import timezone
from django_fsm import can_proceed

from integrations.models import Connection, System
from integrations.signatures import verify_hub_signature
from portal.exceptions import PortalError, ValidationFailed
from portal.json_input import json_loads_bounded
from portal.outbox import outbox_enqueue
from requests_app.choices import EventKind
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.services import request_reassign, request_transition, request_update
from requests_app.timeline import timeline_append

from .choices import DeliveryOutcome
from .constants import PROCESS_TASK
from .intake import jira_intake_file
from .issue_links import LINK_EVENTS, jira_issue_link_apply
from .mapping import PRIORITY_FROM_JIRA, PRIORITY_NAMES, TRANSITIONS_FOR_STATUS, VERBS, jira_status_for
from .models import JiraDelivery, JiraLink, JiraPush
from .payload import as_dict, as_list, event_time, person, text, user_by_email

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
    if webhook_event in LINK_EVENTS:
        done = jira_issue_link_apply(delivery=delivery, payload=payload)
        result.service_request = done.service_request
        result.note(done.note, done.outcome)
        return
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


@dataclass(frozen=True)
class _Change:
    """One Jira user's change to a linked issue, and the portal user their e-mail belongs to (None: nobody)."""

    delivery: JiraDelivery
    link: JiraLink
    who: str
    email: str
    actor: User | None
    result: _Result

    def context(self, **extra: str) -> dict[str, Any]:
        """The payload every event Jira causes carries: where it came from and which Jira user did it."""
        return {
            "source": "jira",
            "jira_key": self.link.jira_key,
            "delivery": self.delivery.delivery_id,
            "jira_user": self.who,
            "jira_user_email": self.email,
            **extra,
        }

    def request(self) -> ServiceRequest:
        return ServiceRequest.objects.get(pk=self.link.service_request_id)

    def conflict(self, service_request: ServiceRequest, message: str, *, refused: str, **extra: str) -> None:
        """Record that the portal did not follow Jira, internally, for the program manager to reconcile."""
        timeline_append(
            service_request,
            kind=EventKind.JIRA_CONFLICT,
            message=f"{message} Please reconcile the two.",
            internal=True,
            payload={**self.context(**extra), "state": service_request.state, "refused": refused},
        )


def _changes(delivery: JiraDelivery, link: JiraLink, payload: dict[str, Any], result: _Result) -> None:
    items = [item for item in as_list(as_dict(payload.get("changelog")).get("items")) if isinstance(item, dict)]
    handled = [item for item in items if str(item.get("field") or "").lower() in ("status", "priority", "assignee")]
    at = delivery.event_at
    if at is not None and link.last_event_at is not None and at <= link.last_event_at:
        if handled:
            result.note(f"out of order: the newest event applied for {link.jira_key} is later; changes ignored")
        return
    if at is not None:
        link.last_event_at = at
        link.save(update_fields=["last_event_at", "updated_at"])
    who, email = person(payload.get("user"))
    change = _Change(delivery, link, who, email, user_by_email(email), result)
    issue_fields = as_dict(as_dict(payload.get("issue")).get("fields"))
    for item in handled:
        name = str(item.get("field") or "").lower()
        if name == "status":
            _status(change, str(item.get("toString") or ""))
        elif name == "priority":
            _priority(change, item)
        else:
            _assignee(change, item, issue_fields)


def _echo(link: JiraLink, field_name: str, *values: str) -> bool:
    """Whether one of `values` is a change Portico pushed recently and has not seen echoed yet; marks it seen."""
    values = tuple(value for value in values if value)
    if not values:
        return False
    matches = Q()
    for value in values:
        matches |= Q(value__iexact=value)
    push = (
        JiraPush.objects.filter(
            matches,
            link=link,
            field=field_name,
            outcome="pushed",
            jira_comment_id="",  # said in a comment (a Cloud assignee), so Jira's field never changed: no echo
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


def _status(change: _Change, status: str) -> None:
    link, result, who, actor = change.link, change.result, change.who, change.actor
    if _echo(link, "status", status):
        result.note(f"status {status!r} is the echo of Portico's change")
        return
    service_request = change.request()
    current = jira_status_for(service_request.state)
    if current and current.lower() == status.lower():
        result.note(f"status {status!r} already matches {service_request.get_state_display().lower()}")
        return
    name = _transition_for(service_request, status, actor)  # actor None: nobody Portico knows, so the system acts
    context = change.context(jira_status=status)
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
    message = f"{who} moved {link.jira_key} to “{status}” in Jira, but {why}."
    change.conflict(service_request, message, refused=name or "", jira_status=status)
    result.note(f"status {status!r} conflicts with {state}", DeliveryOutcome.CONFLICT)


def _refusal(exc: PortalError) -> str:
    """A service's refusal in one sentence, its field errors included."""
    details = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in exc.fields.items())
    return exc.message.rstrip(".") + (f" ({details})" if details else "")


def _priority(change: _Change, item: dict[str, Any]) -> None:
    """Jira's new priority, applied through `request_update` as the Jira user's portal account: the service
    decides (only the program manager changes priority; P4 needs notice), and a refusal is a conflict."""
    link, result, who, actor = change.link, change.result, change.who, change.actor
    value, before = str(item.get("toString") or ""), str(item.get("fromString") or "")
    if _echo(link, "priority", value):
        result.note(f"priority {value!r} is the echo of Portico's change")
        return
    service_request = change.request()
    wanted = PRIORITY_FROM_JIRA.get(value.lower())
    said = f"{who} changed the priority of {link.jira_key} to “{value}” in Jira"
    if wanted is None:
        change.conflict(
            service_request, f"{said}, which is no portal priority.", refused="priority", jira_priority=value
        )
        result.note(f"priority {value!r} maps to no portal priority", DeliveryOutcome.CONFLICT)
        return
    if wanted == service_request.priority:
        link.pushed_priority = PRIORITY_NAMES[wanted]
        link.save(update_fields=["pushed_priority", "updated_at"])
        result.note(f"priority {value!r} already matches {wanted}")
        return
    if actor is None:
        why = "the portal does not know that Jira user, so it keeps its own priority"
    else:
        reason = f"Priority changed in Jira by {who} ({link.jira_key}: {before or 'none'} → {value})."
        try:
            request_update(service_request, actor=actor, changes={"priority": wanted}, reason=reason)
        except PortalError as exc:
            why = f"the portal refused it for their account {actor.get_username()}: {_refusal(exc)}"
        else:
            # What Jira holds now, as the mirror names it: the sync that follows has nothing to push back.
            link.pushed_priority = PRIORITY_NAMES[wanted]
            link.save(update_fields=["pushed_priority", "updated_at"])
            result.note(f"priority {value!r}: {wanted} as {actor.get_username()}", DeliveryOutcome.APPLIED)
            return
    change.conflict(service_request, f"{said}, but {why}.", refused="priority", jira_priority=value)
    result.note(f"priority {value!r} conflicts: {why}", DeliveryOutcome.CONFLICT)


def _assignee(change: _Change, item: dict[str, Any], issue_fields: dict[str, Any]) -> None:
    """Jira's new assignee, applied through `request_reassign` as the Jira user's portal account when the new
    assignee is a portal user (matched by e-mail): the service decides (an engineer of the request's vendor; the
    program manager or the vendor's lead reassigns), and a refusal is a conflict."""
    link, result, who, actor = change.link, change.result, change.who, change.actor
    value, account = str(item.get("toString") or ""), str(item.get("to") or "")
    if _echo(link, "assignee", account, value):  # Data Center names the user; Portico pushed the user name
        result.note(f"assignee {value or account!r} is the echo of Portico's change")
        return
    service_request = change.request()
    named, assignee_email = person(issue_fields.get("assignee")) if issue_fields.get("assignee") else ("", "")
    engineer = user_by_email(assignee_email)
    shown = value or named or account or "nobody"
    said = f"{who} assigned {link.jira_key} to {shown} in Jira"
    if engineer is not None and engineer.pk == service_request.assignee_id:
        link.pushed_assignee = engineer.get_username()
        link.save(update_fields=["pushed_assignee", "updated_at"])
        result.note(f"assignee {shown!r} already matches")
        return
    if engineer is None:
        why = "that is nobody the portal knows by e-mail, so it keeps its own assignee"
    elif actor is None:
        why = "the portal does not know that Jira user, so it keeps its own assignee"
    else:
        reason = f"Assigned in Jira by {who} ({link.jira_key} → {shown})."
        try:
            request_reassign(service_request, actor=actor, assignee=engineer, reason=reason)
        except PortalError as exc:
            why = f"the portal refused it for their account {actor.get_username()}: {_refusal(exc)}"
        else:
            link.pushed_assignee = engineer.get_username()
            link.save(update_fields=["pushed_assignee", "updated_at"])
            result.note(f"assignee {shown!r}: reassigned as {actor.get_username()}", DeliveryOutcome.APPLIED)
            return
    change.conflict(service_request, f"{said}, but {why}.", refused="reassign", jira_assignee=shown)
    result.note(f"assignee {shown!r} conflicts: {why}", DeliveryOutcome.CONFLICT)


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
