"""Outbound Jira mirroring: a triaged request gets one issue in its environment's Jira project, and its status,
priority, assignee and public comments follow.

Each sync brings the issue in line with the request as it is *now* (not as the event described it), so tasks
that run twice, late or out of order all end in the same place. Every change pushed is remembered as a
`JiraPush`, which is how the webhook echoing it back is recognised (`jira_bridge.inbound`).

Environments without a Jira connection are not mirrored at all: a dry-run issue key would be a made-up key on a
real request.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from integrations.connections import connection_for
from integrations.errors import ErrorKind, IntegrationError
from integrations.models import Connection, System
from integrations.registry import get_adapter
from integrations.results import Outcome
from portal.compiled import CompiledQuery
from portal.outbox import outbox_enqueue
from requests_app.choices import EventKind
from requests_app.models import RequestEvent, RequestLink, ServiceRequest
from requests_app.timeline import timeline_append

from .choices import JiraPushOutcome
from .constants import SYNC_TASK
from .mapping import JIRA_LINK_RELATIONS, PRIORITY_NAMES, jira_status_for
from .models import JiraIssueLink, JiraLink, JiraPush

if TYPE_CHECKING:
    from integrations.jira import JiraPort

log = logging.getLogger(__name__)

# Events after which the issue may need to change; Portico's own Jira events are left out so nothing loops.
SYNC_KINDS = frozenset(
    {
        EventKind.TRIAGE,
        EventKind.APPROVE,
        EventKind.DENY,
        EventKind.PICK_UP,
        EventKind.REASSIGN,
        EventKind.REQUEST_INFO,
        EventKind.PROVIDE_INFO,
        EventKind.ESCALATE,
        EventKind.UNBLOCK,
        EventKind.RESOLVE,
        EventKind.CONFIRM,
        EventKind.REOPEN,
        EventKind.REJECT,
        EventKind.CANCEL,
        EventKind.AUTO_CLOSE,
        EventKind.PRIORITY_CHANGED,
        EventKind.COMMENT,
        EventKind.LINK_ADDED,
        EventKind.LINK_REMOVED,
    }
)


def _should_sync(event: RequestEvent) -> bool:
    payload = event.payload or {}
    if payload.get("source") == "jira" or payload.get("origin") == "jira":
        return False  # Jira told us about this change; telling Jira back would only echo
    if event.kind == EventKind.COMMENT:
        return not event.internal  # internal notes never leave the portal
    return event.kind in SYNC_KINDS


@functools.cache
def _jira_connected_query() -> CompiledQuery:
    def build(environment: int) -> Any:
        connected = Connection.objects.filter(environment_id=environment, system=System.JIRA, enabled=True)
        return connected.order_by().values_list("pk")[:1]  # `exists()`: no order, one row

    return CompiledQuery(build, {"environment": -(2**62) + 601})  # an id no row holds


def jira_sync_enqueue(event: RequestEvent) -> None:
    """After commit, mirror `event` to the environment's Jira project, when the environment has one."""
    if not _should_sync(event):
        return
    # Compiled once per process (portal.compiled): building the query was most of this handler's CPU.
    if not _jira_connected_query().rows(environment=event.service_request.environment_id):
        return
    outbox_enqueue(SYNC_TASK, event_id=event.pk)


def _portal_link(service_request: ServiceRequest) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("request-detail", args=[service_request.reference])


def _push(
    link: JiraLink,
    event: RequestEvent | None,
    field: str,
    value: str,
    *,
    outcome: str = JiraPushOutcome.PUSHED,
    note: str = "",
    comment_id: str = "",
) -> JiraPush:
    return JiraPush.objects.create(
        link=link,
        event=event,
        jira_key=link.jira_key,
        field=field,
        value=value[:255],
        outcome=outcome,
        note=note,
        jira_comment_id=comment_id,
    )


class _Sync:
    """One pass over one request's issue; `steps` says in plain words what was done."""

    def __init__(self, adapter: JiraPort, connection: Connection, link: JiraLink, event: RequestEvent) -> None:
        self.adapter = adapter
        self.connection = connection
        self.link = link
        self.event = event
        self.service_request = event.service_request
        self.steps: list[str] = []

    def ensure_issue(self) -> None:
        if self.link.jira_key:
            return
        service_request = self.service_request
        environment = service_request.environment
        project = self.connection.project_key or environment.jira_project_key
        if not project:
            raise IntegrationError(
                "jira", ErrorKind.INVALID, f"No Jira project key is configured for {environment}; nothing to mirror to."
            )
        description = (
            f"{service_request.description}\n\n"
            f"Filed in Portico as {service_request.reference} by {service_request.requester} "
            f"for {service_request.team}.\nOpen it in Portico: {_portal_link(service_request)}"
        )
        issue = self.adapter.create_issue(
            summary=f"[{service_request.reference}] {service_request.title}",
            description=description,
            priority_name=PRIORITY_NAMES[service_request.priority],
            labels=["portico", service_request.request_type],
            reference=service_request.reference,
            project_key=project,
        )
        link = self.link
        link.jira_key, link.jira_id, link.url, link.project_key = issue.key, issue.id, issue.url, project
        link.pushed_priority = PRIORITY_NAMES[service_request.priority]
        link.save()
        ServiceRequest.objects.filter(pk=service_request.pk).update(jira_key=issue.key)
        service_request.jira_key = issue.key
        found = issue.outcome is not Outcome.CREATED
        _push(
            link, self.event, "issue", issue.key, outcome=JiraPushOutcome.UNCHANGED if found else JiraPushOutcome.PUSHED
        )
        self.steps.append(f"{'found' if found else 'created'} {issue.key}")

    def status(self) -> None:
        wanted = jira_status_for(self.service_request.state)
        if wanted is None or wanted == self.link.pushed_status:
            return
        try:
            moved = self.adapter.transition_to(self.link.jira_key, wanted)
        except IntegrationError as exc:
            if exc.transient or exc.kind is not ErrorKind.INVALID:
                raise
            # The project's workflow has no such status or move: note it, never fail the sync for it.
            log.info("jira: %s not moved to %r: %s", self.link.jira_key, wanted, exc.message)
            _push(self.link, self.event, "status", wanted, outcome=JiraPushOutcome.SKIPPED, note=exc.message)
            self.steps.append(f"status {wanted!r} skipped")
        else:
            outcome = JiraPushOutcome.PUSHED if moved.outcome is Outcome.UPDATED else JiraPushOutcome.UNCHANGED
            _push(self.link, self.event, "status", moved.status, outcome=outcome)
            self.steps.append(f"status {moved.status!r}")
        self.link.pushed_status = wanted
        self.link.save(update_fields=["pushed_status", "updated_at"])

    def priority(self) -> None:
        wanted = PRIORITY_NAMES[self.service_request.priority]
        if wanted == self.link.pushed_priority:
            return
        self.adapter.update_fields(self.link.jira_key, priority_name=wanted)
        _push(self.link, self.event, "priority", wanted)
        self.link.pushed_priority = wanted
        self.link.save(update_fields=["pushed_priority", "updated_at"])
        self.steps.append(f"priority {wanted!r}")

    def assignee(self) -> None:
        assignee = self.service_request.assignee
        wanted = assignee.username if assignee else ""
        if wanted == self.link.pushed_assignee:
            return
        assigned = False
        if self.connection.jira_pat and wanted:
            # Data Center assigns by user name; Cloud wants an account id Portico does not know, so it gets a comment.
            try:
                self.adapter.update_fields(self.link.jira_key, assignee=wanted)
                assigned = True
            except IntegrationError as exc:
                if exc.transient or exc.kind is not ErrorKind.INVALID:
                    raise
        if assigned:
            _push(self.link, self.event, "assignee", wanted)
        else:
            who = f"{assignee} ({assignee.email or assignee.username})" if assignee else "nobody"
            comment = self.adapter.add_comment(self.link.jira_key, f"Portico: assigned to {who}.")
            _push(self.link, self.event, "assignee", wanted, note="as a comment", comment_id=comment.comment_id)
        self.link.pushed_assignee = wanted
        self.link.save(update_fields=["pushed_assignee", "updated_at"])
        self.steps.append(f"assignee {wanted or 'none'!r}")

    def comment(self) -> None:
        event = self.event
        if event.kind != EventKind.COMMENT or event.internal:
            return
        if JiraPush.objects.filter(event=event, field="comment").exists():
            return  # posted by an earlier run of this task
        author = event.actor_label
        comment = self.adapter.add_comment(self.link.jira_key, f"{author} (in Portico):\n\n{event.message}")
        _push(self.link, event, "comment", comment.comment_id, comment_id=comment.comment_id)
        self.steps.append("comment posted")

    def issue_link(self) -> None:
        """A link added in the portal, pushed once from its source's side when both requests have an issue; the
        Jira link's id is kept so removing the portal link removes it."""
        event = self.event
        payload = event.payload or {}
        if event.kind != EventKind.LINK_ADDED or payload.get("source") is not True:
            return
        if JiraPush.objects.filter(event=event, field="link").exists():
            return  # pushed by an earlier run of this task
        relation = JIRA_LINK_RELATIONS[payload["kind"]]
        other_key = (
            JiraLink.objects.filter(service_request__reference=payload["other"])
            .exclude(jira_key="")
            .values_list("jira_key", flat=True)
            .first()
        )
        value = f"{relation} {other_key or payload['other']}"
        if "link" in payload and not RequestLink.objects.filter(pk=payload["link"]).exists():
            # Removed before this push ran (its removal's sync waits on the same lock and finds nothing to undo).
            _push(self.link, event, "link", value, outcome=JiraPushOutcome.SKIPPED, note="the link was removed since")
            self.steps.append("link skipped")
            return
        if other_key is None:
            _push(
                self.link, event, "link", value, outcome=JiraPushOutcome.SKIPPED, note="the other request has no issue"
            )
            self.steps.append("link skipped")
            return
        try:
            link_id = self.adapter.link_issues(relation=relation, inward_key=self.link.jira_key, outward_key=other_key)
        except IntegrationError as exc:
            if exc.transient:
                raise
            # The server has no such link type (or refused the link): note it, never fail the sync for it.
            _push(self.link, event, "link", value, outcome=JiraPushOutcome.SKIPPED, note=exc.message)
            self.steps.append("link skipped")
            return
        if link_id and "link" in payload:
            JiraIssueLink.objects.update_or_create(
                environment_id=self.link.environment_id,
                jira_link_id=link_id,
                defaults={
                    "request_link_id": payload["link"],
                    "inward_key": self.link.jira_key,
                    "outward_key": other_key,
                    "kind": payload["kind"],
                    "deleted_at": None,
                },
            )
        _push(self.link, event, "link", value, note=f"Jira link {link_id}" if link_id else "")
        self.steps.append(f"link {value!r}")

    def issue_unlink(self) -> None:
        """A link removed in the portal: its Jira issue link is removed too, once (already gone in Jira is fine)."""
        event = self.event
        payload = event.payload or {}
        if event.kind != EventKind.LINK_REMOVED or payload.get("source") is not True:
            return
        if JiraPush.objects.filter(event=event, field="unlink").exists():
            return  # done by an earlier run of this task
        link_id = payload.get("link")
        twin = JiraIssueLink.objects.select_for_update().filter(request_link_id=link_id).first() if link_id else None
        value = f"{JIRA_LINK_RELATIONS[payload['kind']]} {payload['other']}"
        if twin is None:
            note = "the link never reached Jira"
            _push(self.link, event, "unlink", value, outcome=JiraPushOutcome.SKIPPED, note=note)
            self.steps.append("unlink skipped")
            return
        if twin.deleted_at is not None:
            _push(self.link, event, "unlink", value, outcome=JiraPushOutcome.UNCHANGED, note="already gone in Jira")
            self.steps.append("unlink: already gone")
            return
        removed = self.adapter.delete_issue_link(twin.jira_link_id)
        twin.deleted_at = timezone.now()
        twin.save(update_fields=["deleted_at"])
        outcome = JiraPushOutcome.PUSHED if removed else JiraPushOutcome.UNCHANGED
        note = f"Jira link {twin.jira_link_id}" + ("" if removed else " was already gone")
        _push(self.link, event, "unlink", value, outcome=outcome, note=note)
        self.steps.append(f"unlink {value!r}")


def jira_sync_event(*, event: RequestEvent) -> list[str]:
    """Bring the request's Jira issue in line with the portal after `event`; safe to repeat, in any order."""
    environment = event.service_request.environment
    connection = connection_for(environment, System.JIRA)
    if connection is None:
        return ["no Jira connection"]
    adapter = get_adapter("jira", connection.config())
    failure: IntegrationError | None = None
    with transaction.atomic():
        # The lock serialises syncs of one request, so two tasks never both create its issue.
        link = JiraLink.objects.select_for_update().filter(service_request_id=event.service_request_id).first()
        service_request = ServiceRequest.objects.select_related("assignee", "requester", "team", "environment").get(
            pk=event.service_request_id
        )
        if link is None:
            if not service_request.triaged_at:
                return ["not triaged yet"]  # rejected or cancelled before triage: never mirrored
            link, _ = JiraLink.objects.select_for_update().get_or_create(
                service_request_id=service_request.pk, defaults={"environment": environment}
            )
        event.service_request = service_request
        sync = _Sync(adapter, connection, link, event)
        try:
            sync.ensure_issue()
            sync.status()
            sync.priority()
            sync.assignee()
            sync.comment()
            sync.issue_link()
            sync.issue_unlink()
        except IntegrationError as exc:
            failure = exc  # keep what did reach Jira (the key, the pushes); the task decides about retrying
    if failure is not None:
        raise failure
    return sync.steps or ["in step"]


def jira_sync_failure_record(*, event_id: int, error: str) -> RequestEvent | None:
    """Put a sync that gave up on the request's timeline as an internal event for the PM (once per event)."""
    event = RequestEvent.objects.select_related("service_request").filter(pk=event_id).first()
    if event is None:
        return None
    service_request = event.service_request
    with transaction.atomic():
        earlier = RequestEvent.objects.filter(
            service_request=service_request, kind=EventKind.JIRA_SYNC_FAILED, payload__event=event_id
        )
        if earlier.exists():
            return None
        log.warning("jira: giving up on %s event %s: %s", service_request.reference, event_id, error)
        return timeline_append(
            service_request,
            kind=EventKind.JIRA_SYNC_FAILED,
            message=f"Could not mirror “{event.get_kind_display().lower()}” to Jira: {error}",
            internal=True,
            payload={"event": event_id, "error": error},
        )
