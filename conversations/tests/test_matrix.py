"""The whole notification matrix, proved on the real workflow: for every notice, exactly who hears it (in the
portal and by e-mail), and so who never does. The expected sets are written out here by hand, not derived from
`MATRIX`, so a change to the matrix fails this table until it is reviewed. Events that Portico itself records
(SLA flags, automation, Jira) are appended through `timeline_append`, the one call their emitters use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from conversations.delivery import notify
from conversations.matrix import MATRIX
from conversations.models import Channel, Delivery
from conversations.watchers import watch
from requests_app import services
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.models import Notification, RequestEvent, ServiceRequest
from requests_app.testing.workflow import file_request, walk_to
from requests_app.timeline import timeline_append

from .helpers import add_teammate, add_view_all_watcher

pytestmark = pytest.mark.django_db
EVERYONE = {"asha", "mate", "bala", "opti-eng", "opti-lead", "gwl-eng", "gwl-lead", "pm", "egov", "wendy"}


def _watched(world: Any, state: str, **overrides: Any) -> ServiceRequest:
    """A request walked to `state`, watched by wendy from the moment it was filed."""
    service_request = walk_to(world, state, **overrides)
    watch(service_request, world.wendy)
    return service_request


def _in_progress(world: Any) -> ServiceRequest:
    return _watched(world, RequestState.IN_PROGRESS)


def _system(kind: str, *, internal: bool = False, payload: dict | None = None) -> Callable[[Any], RequestEvent]:
    def build(world: Any) -> RequestEvent:
        return timeline_append(_in_progress(world), kind=kind, internal=internal, payload=payload or {})

    return build


def _step(state: str, name: str, actor: str, **kwargs: Any) -> Callable[[Any], RequestEvent]:
    def build(world: Any) -> RequestEvent:
        service_request = _watched(world, state)
        arguments = {k: getattr(world, v) if k in ("vendor",) else v for k, v in kwargs.items()}
        services.TRANSITIONS[name].service(service_request, actor=getattr(world, actor), **arguments)
        return service_request.events.latest("created_at", "pk")

    return build


def _filed(world: Any) -> RequestEvent:
    return file_request(world).events.get(kind=EventKind.FILED)


def _approval_requested(world: Any) -> RequestEvent:
    service_request = file_request(world, request_type=RequestType.ACCESS_OPS)
    watch(service_request, world.wendy)
    services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
    return service_request.events.get(kind=EventKind.TRIAGE)


def _approve_or_deny(name: str) -> Callable[[Any], RequestEvent]:
    def build(world: Any) -> RequestEvent:
        service_request = _approval_requested(world).service_request
        services.TRANSITIONS[name].service(service_request, actor=world.approver, reason="Checked")
        return service_request.events.latest("created_at", "pk")

    return build


def _comment(actor: str, *, internal: bool = False) -> Callable[[Any], RequestEvent]:
    def build(world: Any) -> RequestEvent:
        return services.request_comment(
            _in_progress(world), actor=getattr(world, actor), body="Any news?", internal=internal
        )

    return build


def _update(changes: dict) -> Callable[[Any], RequestEvent]:
    def build(world: Any) -> RequestEvent:
        service_request = _in_progress(world)
        services.request_update(service_request, actor=world.pm, changes=changes, reason="Customer impact")
        return service_request.events.latest("created_at", "pk")

    return build


def _auto_close(world: Any) -> RequestEvent:
    service_request = _watched(world, RequestState.RESOLVED)
    with time_machine.travel(timezone.now() + timedelta(days=settings.PORTICO_AUTO_CLOSE_AFTER_DAYS + 1)):
        assert services.requests_auto_close() == 1
    return service_request.events.latest("created_at", "pk")


# notice: (how to make its event, who hears it). Actors never hear of their own act.
CASES: dict[str, tuple[Callable[[Any], RequestEvent], set[str]]] = {
    "filed": (_filed, {"mate", "pm"}),
    "triage": (
        _step(RequestState.SUBMITTED, "triage", "pm", vendor="vendor_a"),
        {"asha", "mate", "wendy", "opti-eng", "opti-lead"},
    ),
    # Awaiting approval: eGov DevOps is asked; vendor A is told nothing yet.
    "approval_requested": (_approval_requested, {"asha", "wendy", "egov"}),
    "approve": (_approve_or_deny("approve"), {"asha", "mate", "wendy", "opti-eng", "opti-lead", "pm"}),
    "deny": (_approve_or_deny("deny"), {"asha", "mate", "wendy", "pm"}),
    "pick_up": (_step(RequestState.QUEUED, "pick_up", "vendor_engineer"), {"asha", "wendy"}),
    # Moved to vendor B, unassigned: B's lead hears; vendor A, who can no longer see it, does not.
    "reassign": (
        _step(RequestState.IN_PROGRESS, "reassign", "pm", vendor="vendor_b", reason="Capacity"),
        {"asha", "wendy", "gwl-lead"},
    ),
    "comment": (_comment("requester"), {"wendy", "opti-eng"}),
    "jira_comment": (_system(EventKind.JIRA_COMMENT), {"asha", "wendy", "opti-eng"}),
    "request_info": (
        _step(RequestState.IN_PROGRESS, "request_info", "vendor_engineer", reason="Which cluster?"),
        {"asha", "mate", "wendy"},
    ),
    "provide_info": (
        _step(RequestState.WAITING_ON_REQUESTER, "provide_info", "requester", reason="Cluster 2"),
        {"wendy", "opti-eng"},
    ),
    "escalate": (
        _step(RequestState.IN_PROGRESS, "escalate", "vendor_engineer", reason="No quota"),
        {"wendy", "opti-lead", "pm", "egov"},
    ),
    "unblock": (_step(RequestState.BLOCKED, "unblock", "pm", reason="Quota raised"), {"wendy", "opti-eng"}),
    "priority_changed": (_update({"priority": Priority.P3}), {"asha", "wendy", "opti-eng", "opti-lead"}),
    "type_changed": (
        _update({"request_type": RequestType.TROUBLESHOOTING}),
        {"asha", "wendy", "opti-eng", "opti-lead"},
    ),
    "resolve": (
        _step(RequestState.IN_PROGRESS, "resolve", "vendor_engineer", reason="Done"),
        {"asha", "mate", "wendy"},
    ),
    "confirm": (_step(RequestState.RESOLVED, "confirm", "requester"), {"wendy", "opti-eng", "opti-lead"}),
    "reopen": (
        _step(RequestState.RESOLVED, "reopen", "requester", reason="Still broken"),
        {"wendy", "opti-eng", "opti-lead"},
    ),
    "reject": (_step(RequestState.SUBMITTED, "reject", "pm", reason="Duplicate"), {"asha", "mate", "wendy"}),
    "cancel": (_step(RequestState.IN_PROGRESS, "cancel", "requester"), {"wendy", "opti-eng", "opti-lead"}),
    "auto_close": (_auto_close, {"asha", "opti-eng"}),
    "sla_at_risk": (_system(EventKind.SLA_AT_RISK), {"opti-eng", "opti-lead"}),
    "sla_breached": (_system(EventKind.SLA_BREACHED), {"opti-eng", "opti-lead", "pm", "egov"}),
    "provisioning_succeeded": (_system(EventKind.PROVISIONING_SUCCEEDED), {"asha", "wendy", "opti-eng"}),
    "provisioning_failed": (_system(EventKind.PROVISIONING_FAILED), {"wendy", "opti-eng", "pm", "egov"}),
    "access_granted": (_system(EventKind.ACCESS_GRANTED), {"asha", "wendy"}),
    "access_revoked": (_system(EventKind.ACCESS_REVOKED), {"asha", "wendy"}),
    "access_revoke_failed": (_system(EventKind.ACCESS_REVOKE_FAILED, internal=True), {"pm", "egov"}),
    "jira_conflict": (_system(EventKind.JIRA_CONFLICT, internal=True), {"pm"}),
    "jira_sync_failed": (_system(EventKind.JIRA_SYNC_FAILED, internal=True), {"pm"}),
}
# Not rows of their own: internal notes (the requester's side never hears them) and silent events.
EXTRA_CASES: dict[str, tuple[Callable[[Any], RequestEvent], set[str]]] = {
    "internal note": (_comment("vendor_engineer", internal=True), {"wendy"}),
    "internal SLA breach (the OLA)": (
        _system(EventKind.SLA_BREACHED, internal=True),
        {"opti-eng", "opti-lead", "pm", "egov"},
    ),
    "title edited": (_update({"title": "A better title"}), set()),
    "automation started": (_system(EventKind.PROVISIONING_STARTED), set()),
}


@pytest.fixture
def people(world):
    world.mate = add_teammate(world)
    world.wendy = add_view_all_watcher(world)
    return world


def test_every_matrix_row_has_a_case():
    assert set(CASES) == set(MATRIX)


@pytest.mark.parametrize("notice", [*CASES, *EXTRA_CASES])
def test_who_hears_each_notice_and_who_never_does(people, notice):
    build, expected = {**CASES, **EXTRA_CASES}[notice]
    event = build(people)
    mail.outbox.clear()

    notify(event)

    in_portal = set(Notification.objects.filter(event=event).values_list("user__username", flat=True))
    emailed = {message.to[0].split("@")[0] for message in mail.outbox}
    assert in_portal == expected
    assert emailed == expected
    assert (
        set(Delivery.objects.filter(event=event, channel=Channel.EMAIL).values_list("user__username", flat=True))
        == expected
    )
    # Nobody hears of a request or a note they cannot see.
    for username in EVERYONE - expected:
        assert not Notification.objects.filter(event=event, user__username=username).exists()
    for notification in Notification.objects.filter(event=event).select_related("user"):
        assert RequestEvent.objects.visible_to(notification.user).filter(pk=event.pk).exists()


def test_the_readme_table_is_the_matrix(capsys):
    # Fails when the README's table differs from the code's: `manage.py notification_matrix --write` fixes it.
    call_command("notification_matrix", "--check")
