"""Post-incident reviews: opened on resolve with the timeline pre-filled, action items filed as requests, who sees
and who publishes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from incidents.models import ActionItem, IncidentReview, ReviewStatus
from incidents.reviews import review_action_item_add, review_for, review_open, review_publish, review_update
from portal.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from requests_app import services
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.testing.workflow import file_request, walk_to

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 16, 4, 0, tzinfo=UTC)


def _at(minutes: int):
    return time_machine.travel(T0 + timedelta(minutes=minutes), tick=False)


def resolved_incident(world, priority=Priority.P1):
    """Filed at T0, triaged +5 min, picked up +10, two comments and an internal note, blocked +30, unblocked +50,
    resolved +90."""
    with _at(0):
        issue = file_request(world, request_type=RequestType.PRODUCTION_ISSUE, priority=priority, title="5xx")
    with _at(5):
        issue = services.request_triage(issue, actor=world.pm, vendor=world.vendor_a)
    with _at(10):
        issue = services.request_pick_up(issue, actor=world.vendor_engineer)
    with _at(15):
        services.request_comment(issue, actor=world.requester, body="Still failing")
        services.request_comment(issue, actor=world.vendor_engineer, body="Looking")
        services.request_comment(issue, actor=world.vendor_engineer, body="db?", internal=True)
    with _at(30):
        issue = services.request_escalate(issue, actor=world.vendor_engineer, reason="Need DB access")
    with _at(50):
        issue = services.request_unblock(issue, actor=world.pm, reason="Granted")
    with _at(90):
        return services.request_resolve(issue, actor=world.vendor_engineer, reason="Index rebuilt")


def _name(user) -> str:
    return user.get_full_name() or user.username


def test_resolving_a_p1_production_issue_opens_a_draft_review_with_its_timeline(world):
    issue = resolved_incident(world)
    review = IncidentReview.objects.get(service_request=issue)
    assert review.status == ReviewStatus.DRAFT
    assert review.comment_count == 2  # the internal note is not counted
    assert [(e["at"], e["kind"], e["text"]) for e in review.timeline] == [
        ((T0).isoformat(), "filed", f"Filed by {_name(world.requester)}"),
        ((T0 + timedelta(minutes=5)).isoformat(), "triage", "Triaged: submitted → queued"),
        ((T0 + timedelta(minutes=10)).isoformat(), "pick_up", f"Picked up by {_name(world.vendor_engineer)}"),
        ((T0 + timedelta(minutes=30)).isoformat(), "escalate", "Escalated: in progress → blocked"),
        ((T0 + timedelta(minutes=50)).isoformat(), "unblock", "Unblocked: blocked → in progress"),
        ((T0 + timedelta(minutes=90)).isoformat(), "resolve", f"Resolved by {_name(world.vendor_engineer)}"),
    ]


def test_a_p2_issue_or_another_type_gets_no_review_on_resolve_nor_on_demand(world):
    p2 = resolved_incident(world, priority=Priority.P2)
    release = walk_to(world, RequestState.RESOLVED, request_type=RequestType.RELEASE, priority=Priority.P1)
    assert not IncidentReview.objects.exists()
    for service_request in (p2, release):
        with pytest.raises(Conflict):
            review_open(service_request, actor=world.pm)


def test_a_review_can_be_opened_on_demand_and_only_once(world):
    issue = resolved_incident(world)
    IncidentReview.objects.all().delete()
    review = review_open(issue, actor=world.requester)
    assert review.timeline[-1]["kind"] == "resolve"
    assert review_open(issue, actor=world.pm) == review
    assert IncidentReview.objects.count() == 1


def test_action_items_are_filed_as_requests_with_owner_and_due_date(world):
    issue = resolved_incident(world)
    review = review_for(issue, user=world.pm)
    due = date(2026, 12, 31)
    with _at(120):
        item = review_action_item_add(
            review, actor=world.requester, title="Alert on index bloat", due_on=due, owner=world.requester
        )
    follow_up = item.follow_up
    assert (item.owner, item.due_on, item.created_by) == (world.requester, due, world.requester)
    assert follow_up.title == "Alert on index bloat"
    assert (follow_up.needed_by, follow_up.team, follow_up.environment) == (due, issue.team, issue.environment)
    assert follow_up.state == RequestState.SUBMITTED
    filed = follow_up.events.get(kind=EventKind.FILED)
    assert filed.payload["review_of"] == issue.reference
    assert list(review.action_items.values_list("follow_up__reference", flat=True)) == [follow_up.reference]


def test_an_action_item_owner_must_see_the_follow_up(world):
    review = review_for(resolved_incident(world), user=world.pm)
    with pytest.raises(ValidationFailed) as refused:
        review_action_item_add(
            review, actor=world.pm, title="x", due_on=date(2026, 12, 31), owner=world.other_vendor_engineer
        )
    assert "owner" in refused.value.fields
    assert not ActionItem.objects.exists()


def test_the_review_is_seen_only_by_those_who_see_the_request(world):
    issue = resolved_incident(world)
    for user in (world.requester, world.vendor_engineer, world.vendor_lead, world.pm, world.approver):
        assert review_for(issue, user=user).service_request == issue
    for user in (world.other_requester, world.other_vendor_engineer, world.other_vendor_lead):
        with pytest.raises(NotFound):
            review_for(issue, user=user)
        with pytest.raises(NotFound):
            review_update(issue.incident_review, actor=user, changes={"root_cause": "x"})


def test_only_the_pm_or_the_vendor_lead_publish_and_then_it_is_read_only(world):
    issue = resolved_incident(world)
    review = review_update(issue.incident_review, actor=world.vendor_engineer, changes={"impact": "Checkout down"})
    with pytest.raises(ValidationFailed):
        review_publish(review, actor=world.vendor_lead)  # no root cause yet
    review = review_update(review, actor=world.requester, changes={"root_cause": "Index bloat"})
    for user in (world.requester, world.vendor_engineer, world.approver):
        with pytest.raises(Forbidden):
            review_publish(review, actor=user)
    review = review_publish(review, actor=world.vendor_lead)
    assert (review.status, review.published_by) == (ReviewStatus.PUBLISHED, world.vendor_lead)
    with pytest.raises(Conflict):
        review_update(review, actor=world.pm, changes={"impact": "more"})
    with pytest.raises(Conflict):
        review_publish(review, actor=world.pm)


def test_the_pm_publishes_too(world):
    review = review_update(resolved_incident(world).incident_review, actor=world.pm, changes={"root_cause": "Bug"})
    assert review_publish(review, actor=world.pm).status == ReviewStatus.PUBLISHED
