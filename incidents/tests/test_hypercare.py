"""Hypercare windows: opening one, and production issues filed in them linked and raised one level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings

from incidents.hypercare import hypercare_open, hypercare_windows, priority_counts, priority_raised
from incidents.models import HypercareIssue, HypercareWindow
from portal.exceptions import Conflict, Forbidden, ValidationFailed
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.testing.workflow import file_request, walk_to
from requests_app.tests.factories import EnvironmentFactory, StackFactory
from sla.selectors import sla_due_times

pytestmark = pytest.mark.django_db
MONDAY_NOON = datetime(2026, 11, 16, 6, 30, tzinfo=UTC)  # 12:00 in Punjab (Asia/Kolkata)


def _release(world, **overrides):
    return walk_to(world, RequestState.RESOLVED, request_type=RequestType.RELEASE, title="Release 2.4", **overrides)


def _issue(world, **overrides):
    fields = {"request_type": RequestType.PRODUCTION_ISSUE, "title": "Checkout fails", "priority": Priority.P2}
    return file_request(world, **{**fields, **overrides})


def test_priority_raised_goes_one_level_and_never_above_p0():
    assert [priority_raised(p) for p in ("P4", "P3", "P2", "P1", "P0")] == ["P3", "P2", "P1", "P0", "P0"]


def test_a_resolved_release_opens_a_window_over_its_environment_and_stack(world):
    release = _release(world)
    with time_machine.travel(MONDAY_NOON, tick=False):
        window = hypercare_open(release, actor=world.requester, days=7)
    assert (window.environment, window.stack) == (world.environment, world.stack)
    assert (window.starts_at, window.ends_at) == (MONDAY_NOON, MONDAY_NOON + timedelta(days=7))
    assert window.raise_priority is True and window.opened_by == world.requester


def test_the_window_lasts_fourteen_days_by_default_and_one_to_sixty_when_chosen(world):
    window = hypercare_open(_release(world), actor=world.pm)
    assert window.ends_at - window.starts_at == timedelta(days=14)
    for days in (0, 61):
        with pytest.raises(ValidationFailed) as refused:
            hypercare_open(_release(world), actor=world.pm, days=days)
        assert "days" in refused.value.fields


def test_only_the_pm_or_the_requesters_team_open_it_once_after_resolution(world):
    release = _release(world)
    with pytest.raises(Forbidden):
        hypercare_open(release, actor=world.vendor_lead)
    with pytest.raises(Conflict):
        hypercare_open(walk_to(world, RequestState.IN_PROGRESS, request_type=RequestType.RELEASE), actor=world.pm)
    with pytest.raises(ValidationFailed):
        hypercare_open(walk_to(world, RequestState.RESOLVED), actor=world.pm)  # an infra provision
    hypercare_open(release, actor=world.pm)
    with pytest.raises(Conflict):
        hypercare_open(release, actor=world.requester)


def test_an_issue_filed_in_the_window_is_linked_and_raised_one_level_with_the_sla_retargeted(world):
    release = _release(world)
    with time_machine.travel(MONDAY_NOON, tick=False):
        window = hypercare_open(release, actor=world.pm)
    filed_at = MONDAY_NOON + timedelta(days=3)
    with time_machine.travel(filed_at, tick=False):
        issue = _issue(world)

    assert issue.priority == Priority.P1  # the instance the filer holds, too
    issue.refresh_from_db()
    assert issue.priority == Priority.P1
    # P1: response within 2 hours, resolution within 12, around the clock (a P2's would be working days).
    assert sla_due_times(issue) == {
        "response": filed_at + timedelta(hours=2),
        "resolution": filed_at + timedelta(hours=12),
    }
    link = HypercareIssue.objects.get()
    assert (link.window, link.service_request, link.filed_priority, link.raised_to) == (window, issue, "P2", "P1")
    change = issue.events.get(kind=EventKind.PRIORITY_CHANGED)
    assert change.actor is None
    assert change.payload["changes"] == {"priority": {"from": "P2", "to": "P1"}}
    assert f"Filed during hypercare after {release.reference}" in change.message
    assert "response due moved" in change.message


def test_a_p0_issue_in_the_window_is_linked_and_stays_p0(world):
    hypercare_open(_release(world), actor=world.pm)
    issue = _issue(world, priority=Priority.P0)
    issue.refresh_from_db()
    assert issue.priority == Priority.P0
    assert HypercareIssue.objects.get().raised_to == ""
    assert not issue.events.filter(kind=EventKind.PRIORITY_CHANGED).exists()


def test_an_issue_filed_after_the_window_is_neither_linked_nor_raised(world):
    with time_machine.travel(MONDAY_NOON, tick=False):
        hypercare_open(_release(world), actor=world.pm, days=2)
    with time_machine.travel(MONDAY_NOON + timedelta(days=2), tick=False):  # the window's end is exclusive
        issue = _issue(world)
    issue.refresh_from_db()
    assert issue.priority == Priority.P2
    assert not HypercareIssue.objects.exists()


def test_an_issue_in_another_stack_or_environment_or_of_another_type_is_left_alone(world):

    hypercare_open(_release(world), actor=world.pm)
    other_stack = _issue(world, stack=StackFactory(code="ifix", name="iFIX"))
    other_env = _issue(world, environment=EnvironmentFactory(code="bihar", name="Bihar"))
    not_an_issue = file_request(world, request_type=RequestType.TROUBLESHOOTING, priority=Priority.P2)
    for service_request in (other_stack, other_env, not_an_issue):
        service_request.refresh_from_db()
        assert service_request.priority == Priority.P2
    assert not HypercareIssue.objects.exists()


def test_a_window_can_link_without_raising_and_so_can_the_setting(world):
    hypercare_open(_release(world), actor=world.pm, raise_priority=False)
    issue = _issue(world)
    issue.refresh_from_db()
    assert (issue.priority, HypercareIssue.objects.get().raised_to) == (Priority.P2, "")

    HypercareWindow.objects.update(raise_priority=True)
    with override_settings(PORTICO_HYPERCARE_RAISE_PRIORITY=False):
        second = _issue(world)
    second.refresh_from_db()
    assert second.priority == Priority.P2
    assert HypercareIssue.objects.count() == 2


def test_the_report_lists_only_what_the_reader_sees_with_counts_by_priority(world):
    hypercare_open(_release(world), actor=world.pm)
    _issue(world)
    _issue(world, priority=Priority.P3)
    (window,) = hypercare_windows(user=world.requester)
    assert priority_counts(window) == {"P0": 0, "P1": 1, "P2": 1, "P3": 0, "P4": 0}
    assert list(hypercare_windows(user=world.other_requester)) == []
