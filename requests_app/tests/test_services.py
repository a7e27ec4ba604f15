"""The workflow services: state, audit event and on-commit side effects for each step."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from portal.exceptions import Forbidden, InvalidTransition, NotFound, ValidationFailed
from requests_app import services
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.models import RequestEvent, RoutingRule
from requests_app.testing.workflow import file_request, walk_to

pytestmark = pytest.mark.django_db


IST = ZoneInfo("Asia/Kolkata")


@time_machine.travel(datetime(2026, 11, 20, 17, 0, tzinfo=IST), tick=False)
def test_filing_assigns_reference_due_times_and_a_filed_event(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        service_request = file_request(world)
    assert service_request.reference == f"REQ-{service_request.pk:06d}"
    assert service_request.state == RequestState.SUBMITTED
    assert service_request.team == world.team_a
    # P2 on the national calendar, filed Friday 17:00: one working day (8 h 30) ends Monday 17:00; three end
    # Thursday 17:00 because Tuesday 24 Nov 2026 (Guru Nanak's birthday) is a holiday.
    assert service_request.response_due_at == datetime(2026, 11, 23, 17, 0, tzinfo=IST)
    assert service_request.resolution_due_at == datetime(2026, 11, 26, 17, 0, tzinfo=IST)
    event = service_request.events.get()
    assert (event.kind, event.actor, event.to_state) == (EventKind.FILED, world.requester, RequestState.SUBMITTED)
    assert len(callbacks) == 1


def test_references_are_never_reused(world):
    first = file_request(world)
    second = file_request(world)
    assert first.reference != second.reference
    assert int(second.reference.removeprefix("REQ-")) > int(first.reference.removeprefix("REQ-"))


def test_p4_without_needed_by_is_refused_with_a_field_error(world):
    with pytest.raises(ValidationFailed) as caught:
        file_request(world, priority=Priority.P4)
    assert "needed_by" in caught.value.fields


def test_p4_needs_three_weeks_notice(world):
    too_soon = timezone.localdate() + timedelta(days=10)
    with pytest.raises(ValidationFailed) as caught:
        file_request(world, priority=Priority.P4, needed_by=too_soon)
    assert "needed_by" in caught.value.fields
    with time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=IST), tick=False):
        ok = file_request(world, priority=Priority.P4, needed_by=date(2026, 12, 21))
    # Needed on Monday 21 Dec means done by close of business on Friday 18 Dec.
    assert ok.resolution_due_at == datetime(2026, 12, 18, 18, 0, tzinfo=IST)


def test_vendor_accounts_cannot_file(world):
    with pytest.raises(Forbidden):
        file_request(world, actor=world.vendor_engineer)


def test_triage_uses_the_most_specific_routing_rule(world):
    RoutingRule.objects.create(vendor=world.vendor_b)
    RoutingRule.objects.create(
        vendor=world.vendor_a, environment=world.environment, request_type=RequestType.INFRA_PROVISION
    )
    service_request = services.request_triage(file_request(world), actor=world.pm)
    assert service_request.vendor == world.vendor_a
    assert service_request.state == RequestState.QUEUED


def test_triage_without_rule_or_vendor_asks_for_a_vendor(world):
    with pytest.raises(ValidationFailed) as caught:
        services.request_triage(file_request(world), actor=world.pm)
    assert "vendor" in caught.value.fields


def test_access_requests_wait_for_approval(world):
    service_request = walk_to(world, RequestState.PENDING_APPROVAL)
    assert service_request.vendor == world.vendor_a
    approved = services.request_approve(service_request, actor=world.approver)
    assert approved.state == RequestState.QUEUED


def test_triage_changing_priority_needs_a_reason_and_recomputes_due_times(world):
    service_request = file_request(world)
    with pytest.raises(ValidationFailed) as caught:
        services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a, priority=Priority.P0)
    assert "reason" in caught.value.fields
    triaged = services.request_triage(
        service_request, actor=world.pm, vendor=world.vendor_a, priority=Priority.P0, reason="Production down"
    )
    assert triaged.priority == Priority.P0
    assert triaged.response_due_at == triaged.created_at + timedelta(hours=4)
    event = triaged.events.get(kind=EventKind.TRIAGE)
    assert event.payload["changes"]["priority"] == {"from": "P2", "to": "P0"}
    assert event.message == "Production down"


def test_pick_up_makes_the_engineer_assignee_and_stops_the_response_clock(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    assert service_request.assignee == world.vendor_engineer
    assert service_request.responded_at is not None


def test_other_vendor_cannot_see_or_pick_up(world):
    service_request = walk_to(world, RequestState.QUEUED)
    with pytest.raises(NotFound):
        services.request_pick_up(service_request, actor=world.other_vendor_engineer)
    service_request.refresh_from_db()
    assert service_request.state == RequestState.QUEUED


def test_invalid_transition_lists_the_allowed_ones(world):
    service_request = walk_to(world, RequestState.QUEUED)
    with pytest.raises(InvalidTransition) as caught:
        services.request_resolve(service_request, actor=world.vendor_engineer, reason="done")
    assert caught.value.extra["allowed"] == ["pick_up", "escalate"]


def test_resolve_requires_a_note(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    with pytest.raises(ValidationFailed):
        services.request_resolve(service_request, actor=world.vendor_engineer, reason="  ")


def test_reopen_only_within_seven_days(world):
    service_request = walk_to(world, RequestState.RESOLVED)
    with time_machine.travel(timezone.now() + timedelta(days=8)), pytest.raises(InvalidTransition):
        services.request_reopen(service_request, actor=world.requester, reason="still broken")
    reopened = services.request_reopen(service_request, actor=world.requester, reason="still broken")
    assert reopened.state == RequestState.IN_PROGRESS
    assert reopened.reopen_count == 1


def test_auto_close_closes_only_quiet_resolved_requests(world):
    quiet = walk_to(world, RequestState.RESOLVED)
    recent = None
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        recent = walk_to(world, RequestState.RESOLVED)
    with time_machine.travel(timezone.now() + timedelta(days=6)):
        assert services.requests_auto_close() == 1
    quiet.refresh_from_db()
    recent.refresh_from_db()
    assert quiet.state == RequestState.CLOSED
    assert recent.state == RequestState.RESOLVED
    event = quiet.events.get(kind=EventKind.AUTO_CLOSE)
    assert event.actor is None


def test_events_cannot_be_changed_or_deleted(world):
    event = file_request(world).events.get()
    event.message = "rewritten"
    with pytest.raises(Exception, match="cannot be changed"):
        event.save()
    with pytest.raises(Exception, match="cannot be deleted"):
        event.delete()
    with pytest.raises(Exception, match="cannot be changed"):
        RequestEvent.objects.filter(pk=event.pk).update(message="x")
    with pytest.raises(Exception, match="cannot be deleted"):
        RequestEvent.objects.all().delete()
