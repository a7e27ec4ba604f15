"""Inbound Jira webhooks: verify the signature, store the raw delivery, answer 202, and process it in a task.

Processing rules, in order:
- `jira:issue_created` in an environment's intake project files a portal request linked to that issue.
- An issue Portico has no link for is acknowledged and ignored.
- Comments land on the request's timeline (public, `jira_comment`), unless Portico posted them itself.
- A status change older than the newest event already applied for the issue is out of order and ignored; the
  echo of a status Portico pushed itself is ignored; otherwise it runs the matching workflow transition as the
  system, only when the workflow allows it now, and is recorded as a `jira_conflict` for the PM when it does not.

Intake requester: the Jira reporter when their e-mail belongs to an active portal user in an implementation
team (their only team, else the first by name); anyone else files through the `jira-intake` service account
(inactive, so it cannot log in) in the "Jira intake" team, and the description says who reported it in Jira.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_fsm import can_proceed

from portal.exceptions import PortalError, ValidationFailed
from portal.outbox import outbox_enqueue
from requests_app.catalogue import type_for_jira_issue
from requests_app.choices import EventKind, Priority

from .jira_sync import PRIORITY_NAMES, jira_status_for
from .models import Connection, DeliveryOutcome, JiraDelivery, JiraLink, JiraLinkOrigin, JiraPush, System
from .signatures import verify_hub_signature

if TYPE_CHECKING:
    from portal.models import User
    from requests_app.models import Environment, ServiceRequest

log = logging.getLogger(__name__)

PROCESS_TASK = "integrations.tasks.jira_delivery_process"
SIGNATURE_HEADER = "X-Hub-Signature"
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
KEPT_HEADERS = ("Content-Type", "User-Agent", SIGNATURE_HEADER, DELIVERY_HEADER)
# A status push is matched to its echo only within this window; later the same status is somebody's decision.
ECHO_WINDOW = timedelta(hours=1)
INTAKE_USERNAME = "jira-intake"
INTAKE_TEAM_SLUG = "jira-intake"

# Jira status (lower case) -> portal transitions that may follow it, tried in order; the first the workflow
# allows now runs. Anything else is a conflict for the program manager.
TRANSITIONS_FOR_STATUS: dict[str, tuple[str, ...]] = {
    "to do": ("reopen", "unblock"),
    "in progress": ("pick_up", "provide_info", "unblock", "reopen"),
    "waiting for customer": ("request_info",),
    "blocked": ("escalate",),
    "done": ("resolve",),
    "resolved": ("resolve",),
    "won't do": ("reject",),
}
VERBS = {
    "reopen": "Reopened",
    "unblock": "Unblocked",
    "pick_up": "Picked up",
    "provide_info": "Information provided",
    "request_info": "Waiting for the requester",
    "escalate": "Blocked",
    "resolve": "Resolved",
    "reject": "Won't do",
}
PRIORITY_FROM_JIRA: dict[str, str] = {name.lower(): code for code, name in PRIORITY_NAMES.items()} | {
    "blocker": Priority.P0,
    "critical": Priority.P1,
    "major": Priority.P2,
    "minor": Priority.P3,
    "trivial": Priority.P4,
}


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


def _event_time(payload: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(payload["timestamp"]) / 1000, tz=UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
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
        payload = json.loads(raw_body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise ValidationFailed("The body is not a JSON object.", fields={"body": "Send the JSON Jira sends."})
    delivery_id = (headers.get(DELIVERY_HEADER) or "").strip()[:100] or (
        "sha256:" + hashlib.sha256(raw_body).hexdigest()
    )
    issue = payload.get("issue") if isinstance(payload.get("issue"), dict) else {}
    with transaction.atomic():
        delivery, created = JiraDelivery.objects.get_or_create(
            delivery_id=delivery_id,
            defaults={
                "environment": environment,
                "webhook_event": str(payload.get("webhookEvent") or "")[:64],
                "issue_key": str(issue.get("key") or "")[:32],
                "headers": {name: headers[name] for name in KEPT_HEADERS if name in headers},
                "body": raw_body.decode("utf-8", "replace"),
                "event_at": _event_time(payload),
            },
        )
        if created:
            outbox_enqueue(PROCESS_TASK, delivery_id=delivery.pk)
    return delivery, created


def _error(exc: PortalError) -> JsonResponse:
    body = {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}
    return JsonResponse(body, status=exc.status_code)


@csrf_exempt  # Jira cannot send a CSRF token; the HMAC signature is what authenticates it
@require_POST
def jira_webhook(request: HttpRequest) -> JsonResponse:
    """POST /api/v1/webhooks/jira/: verify, store and acknowledge with 202; a task does the work."""
    try:
        delivery, created = jira_delivery_receive(
            raw_body=request.body, headers=request.headers, environment_code=request.GET.get("environment")
        )
    except PortalError as exc:
        return _error(exc)
    status = "accepted" if created else "duplicate"
    return JsonResponse({"status": status, "delivery": delivery.delivery_id}, status=202)


# --- processing ------------------------------------------------------------------------------------------------
@dataclass
class _Result:
    outcome: str = DeliveryOutcome.IGNORED
    notes: list[str] = field(default_factory=list)
    service_request: ServiceRequest | None = None

    def note(self, text: str, outcome: str | None = None) -> None:
        self.notes.append(text)
        # A conflict outranks an applied change, which outranks ignoring something.
        rank = [DeliveryOutcome.IGNORED, DeliveryOutcome.APPLIED, DeliveryOutcome.CONFLICT]
        if outcome and rank.index(outcome) > rank.index(self.outcome):
            self.outcome = outcome


def _person(data: Any) -> tuple[str, str]:
    """(display name, e-mail) of a Jira user object; Cloud often hides the e-mail."""
    data = data if isinstance(data, dict) else {}
    email = str(data.get("emailAddress") or "").strip()
    name = str(data.get("displayName") or data.get("name") or email or "someone in Jira")
    return name, email


def _user_by_email(email: str) -> User | None:
    if not email:
        return None
    matches = list(get_user_model().objects.filter(email__iexact=email, is_active=True)[:2])
    return matches[0] if len(matches) == 1 else None  # two accounts on one address: guessing would be wrong


def _text(body: Any) -> str:
    """A comment body: a string in REST v2, an Atlassian Document (nested nodes) in v3."""
    if isinstance(body, str):
        return body.strip()
    if isinstance(body, dict):
        if body.get("type") == "text":
            return str(body.get("text") or "")
        parts = [_text(child) for child in body.get("content") or []]
        joiner = "\n" if body.get("type") in ("doc", "bulletList", "orderedList") else ""
        return joiner.join(p for p in parts if p).strip()
    return ""


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
    issue = payload.get("issue") if isinstance(payload.get("issue"), dict) else {}
    key = str(issue.get("key") or "")
    if not key:
        result.note(f"{webhook_event or 'event'} names no issue")
        return
    if webhook_event == "jira:issue_created" and _intake(delivery, payload, issue, result):
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
    from requests_app.models import RequestEvent
    from requests_app.timeline import timeline_append

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
    body = _text(comment.get("body"))
    if not body:
        result.note(f"comment {comment_id} is empty")
        return
    author, email = _person(comment.get("author"))
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
    from requests_app.models import ServiceRequest
    from requests_app.services import request_transition
    from requests_app.timeline import timeline_append

    if _echo(link, "status", status):
        result.note(f"status {status!r} is the echo of Portico's change")
        return
    service_request = ServiceRequest.objects.select_related("vendor").get(pk=link.service_request_id)
    current = jira_status_for(service_request.state)
    if current and current.lower() == status.lower():
        result.note(f"status {status!r} already matches {service_request.get_state_display().lower()}")
        return
    who, email = _person(payload.get("user"))
    actor_in_jira = _user_by_email(email)
    name, arguments = _transition_for(service_request, status, actor_in_jira)
    context = {"source": "jira", "jira_key": link.jira_key, "jira_status": status, "delivery": delivery.delivery_id}
    if name is not None:
        message = f"{VERBS[name]} in Jira by {who} ({link.jira_key} → {status})."
        if name == "resolve":
            arguments["note"] = message
        try:
            service_request, _event = request_transition(
                service_request, name, actor=None, message=message, payload=context, **arguments
            )
        except PortalError as exc:
            log.info("jira: %s could not %s: %s", service_request.reference, name, exc.message)
        else:
            link.pushed_status = jira_status_for(service_request.state) or status
            link.save(update_fields=["pushed_status", "updated_at"])
            result.note(f"status {status!r}: ran {name}", DeliveryOutcome.APPLIED)
            return
    state = service_request.get_state_display().lower()
    timeline_append(
        service_request,
        kind=EventKind.JIRA_CONFLICT,
        message=(
            f"{who} moved {link.jira_key} to “{status}” in Jira, but a request that is {state} cannot follow "
            "that in the portal's workflow. Please reconcile the two."
        ),
        internal=True,
        payload={**context, "state": service_request.state},
    )
    result.note(f"status {status!r} conflicts with {state}", DeliveryOutcome.CONFLICT)


def _transition_for(
    service_request: ServiceRequest, status: str, actor_in_jira: User | None
) -> tuple[str | None, dict[str, Any]]:
    """The first transition Jira's new status maps to that the workflow allows now, with its arguments."""
    for name in TRANSITIONS_FOR_STATUS.get(status.lower(), ()):
        arguments: dict[str, Any] = {}
        if name == "pick_up":
            # Picking up needs an engineer of the request's vendor; only a known Jira user can be one.
            if not (actor_in_jira and actor_in_jira.vendor_id and actor_in_jira.vendor_id == service_request.vendor_id):
                continue
            arguments["engineer_id"] = actor_in_jira.pk
        if can_proceed(getattr(service_request, name)):
            return name, arguments
    return None, {}


# --- intake ------------------------------------------------------------------------------------------------------
def _intake(delivery: JiraDelivery, payload: dict[str, Any], issue: dict[str, Any], result: _Result) -> bool:
    """File a request for an issue created in the intake project; False when the issue is not an intake one."""
    from requests_app.models import ServiceRequest
    from requests_app.services import request_file

    environment = delivery.environment
    fields = issue.get("fields") if isinstance(issue.get("fields"), dict) else {}
    project = str((fields.get("project") or {}).get("key") or issue["key"].rpartition("-")[0])
    connection = Connection.objects.filter(environment=environment, system=System.JIRA, enabled=True).first()
    if connection is None or not connection.intake_project_key or project != connection.intake_project_key:
        return False
    key = str(issue["key"])
    existing = JiraLink.objects.filter(environment=environment, jira_key=key).select_related("service_request").first()
    if existing is not None:
        result.service_request = existing.service_request
        result.note(f"{key} is already {existing.service_request.reference}")
        return True
    reporter_name, reporter_email = _person(fields.get("reporter") or payload.get("user"))
    actor, team = _intake_requester(reporter_email)
    priority, needed_by, priority_note = _intake_priority(fields, environment)
    issue_type = str((fields.get("issuetype") or {}).get("name") or "")
    summary = str(fields.get("summary") or key).strip()[:200]
    description = "\n\n".join(
        part
        for part in (
            _text(fields.get("description")),
            f"Filed from Jira issue {key} by {reporter_name}"
            + (f" <{reporter_email}>" if reporter_email else "")
            + ".",
            priority_note,
        )
        if part
    )
    try:
        with transaction.atomic():
            service_request = request_file(
                actor=actor,
                team=team,
                title=summary,
                description=description[: settings.PORTICO_MAX_TEXT_LENGTH],
                request_type=type_for_jira_issue(issue_type),
                priority=priority,
                environment=environment,
                needed_by=needed_by,
                origin={"source": "jira", "jira_key": key, "reporter": reporter_name},
            )
    except PortalError as exc:
        result.note(f"{key} could not be filed: {exc.message} {exc.fields or ''}".strip(), DeliveryOutcome.CONFLICT)
        return True
    status = str((fields.get("status") or {}).get("name") or "")
    JiraLink.objects.create(
        service_request=service_request,
        environment=environment,
        origin=JiraLinkOrigin.INTAKE,
        jira_key=key,
        jira_id=str(issue.get("id") or ""),
        project_key=project,
        url=f"{connection.url.rstrip('/')}/browse/{key}",
        pushed_status=status,
        pushed_priority=str((fields.get("priority") or {}).get("name") or ""),
        last_event_at=delivery.event_at,
    )
    ServiceRequest.objects.filter(pk=service_request.pk).update(jira_key=key)
    result.service_request = service_request
    result.note(f"{key} filed as {service_request.reference} for {actor}", DeliveryOutcome.APPLIED)
    return True


def _intake_requester(email: str) -> tuple[User, Any]:
    """The reporter when they are a known team member; otherwise the intake account and its team."""
    from requests_app.models import Team

    user = _user_by_email(email)
    if user is not None and not user.vendor_id:
        team = user.teams.order_by("name").first()
        if team is not None:
            return user, team
    User = get_user_model()
    intake, created = User.objects.get_or_create(
        username=INTAKE_USERNAME, defaults={"first_name": "Jira", "last_name": "intake", "is_active": False}
    )
    if created:
        intake.set_unusable_password()
        intake.save(update_fields=["password"])
    team, _ = Team.objects.get_or_create(slug=INTAKE_TEAM_SLUG, defaults={"name": "Jira intake"})
    team.members.add(intake)
    return intake, team


def _intake_priority(fields: dict[str, Any], environment: Environment) -> tuple[str, date | None, str]:
    """Jira's priority as P0–P4 and its due date as needed-by; P4 without three weeks' notice is filed as P3."""
    from requests_app.services import request_needed_by_check

    name = str((fields.get("priority") or {}).get("name") or "")
    priority = PRIORITY_FROM_JIRA.get(name.lower(), Priority.P2)
    try:
        needed_by = date.fromisoformat(str(fields.get("duedate") or ""))
    except ValueError:
        needed_by = None
    try:
        request_needed_by_check(priority=priority, needed_by=needed_by, environment=environment)
    except ValidationFailed:
        if priority != Priority.P4:
            return priority, None, ""  # a due date in the past is dropped rather than refusing the issue
        try:
            request_needed_by_check(priority=Priority.P3, needed_by=needed_by, environment=environment)
        except ValidationFailed:
            needed_by = None
        days = settings.PORTICO_P4_MIN_NOTICE_DAYS
        note = f"Jira priority “{name}” is P4, which needs {days} days' notice and a due date; filed as P3."
        return Priority.P3, needed_by, note
    return priority, needed_by, ""
