"""The batched reads behind a notice's recipients agree with the one-person-at-a-time rules they replace: each
audience as a condition names whom `audience_members` names, `may_hear_all` lets through exactly whom `may_hear`
does, and permissions read for many people at once are what the backend reads for one."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from conversations.matrix import Audience
from conversations.recipients import _audience_condition, audience_members, may_hear, may_hear_all
from conversations.watchers import watch
from portal.auth_backends import PortalModelBackend, permissions_prefetch
from requests_app import services
from requests_app.choices import EventKind, RequestState
from requests_app.testing.workflow import walk_to
from requests_app.tests import factories as f
from requests_app.timeline import timeline_append

from .helpers import add_teammate, add_view_all_watcher

pytestmark = pytest.mark.django_db


def _people(world: Any) -> list[Any]:
    add_teammate(world)
    wendy = add_view_all_watcher(world)
    gone = f.UserFactory(username="gone", is_active=False)
    world.team_a.members.add(gone)
    boss = f.UserFactory(username="root", is_superuser=True)
    return [*world.users.values(), wendy, gone, boss, *get_user_model().objects.filter(username="mate")]


def _named(event: Any, audience: Audience) -> set[str]:
    condition = _audience_condition(event, audience)
    if condition is None:
        return set()
    users = get_user_model().objects.filter(pk__in=get_user_model().objects.filter(condition).values("pk"))
    return set(users.filter(is_active=True).values_list("username", flat=True))


@pytest.mark.parametrize("state", [RequestState.SUBMITTED, RequestState.QUEUED, RequestState.IN_PROGRESS])
def test_each_audience_as_a_condition_names_whom_audience_members_names(world, state):
    people = _people(world)
    service_request = walk_to(world, state)
    watch(service_request, people[-1])  # mate follows it
    if state == RequestState.QUEUED:
        watch(service_request, world.vendor_lead)
    event = service_request.events.latest("created_at", "pk")
    for audience in Audience:
        expected = {user.username for user in audience_members(event, audience) if user.is_active}
        assert _named(event, audience) == expected, audience


def test_the_assignee_audience_is_the_vendor_leads_while_nobody_is_assigned(world):
    service_request = walk_to(world, RequestState.QUEUED)
    event = service_request.events.latest("created_at", "pk")
    assert service_request.assignee_id is None
    assert _named(event, Audience.ASSIGNEE) == {"opti-lead"}


@pytest.mark.parametrize("internal", [False, True])
def test_may_hear_all_lets_through_exactly_whom_may_hear_does(world, internal):
    people = _people(world)
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    event = timeline_append(service_request, kind=EventKind.COMMENT, message="note", internal=internal)
    expected = {user.pk for user in people if may_hear(event, get_user_model().objects.get(pk=user.pk))}
    fresh = list(get_user_model().objects.filter(pk__in=[user.pk for user in people]))
    assert may_hear_all(event, fresh) == expected
    # someone of the other vendor, and the other team's requester, hear of nothing here
    assert world.other_vendor_engineer.pk not in expected and world.other_requester.pk not in expected
    assert (world.vendor_engineer.pk in expected) and (world.requester.pk in expected) != internal


def test_may_hear_all_asks_twice_whatever_the_number_of_people(world, django_assert_num_queries):
    people = _people(world)
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    event = service_request.events.latest("created_at", "pk")
    for count in (2, len(people)):
        fresh = list(get_user_model().objects.filter(pk__in=[user.pk for user in people[:count]]))
        with django_assert_num_queries(2):
            heard = may_hear_all(event, fresh)
        # the same answer as asking one by one (outside the count), so the two queries are not an empty shortcut
        assert heard == {user.pk for user in fresh if may_hear(event, get_user_model().objects.get(pk=user.pk))}


def test_permissions_read_together_are_what_the_backend_reads_for_each(world):
    group = Group.objects.create(name="auditors")
    group.permissions.add(Permission.objects.get(codename="view_all_requests"))
    world.requester.groups.add(group)
    world.vendor_engineer.user_permissions.add(Permission.objects.get(codename="view_servicerequest"))
    users = list(get_user_model().objects.all())
    permissions_prefetch(users)
    backend = PortalModelBackend()
    for user in users:
        alone = get_user_model().objects.get(pk=user.pk)
        assert backend.get_all_permissions(user) == backend.get_all_permissions(alone), user.username
    assert "requests_app.view_all_requests" in backend.get_all_permissions(
        next(u for u in users if u.pk == world.requester.pk)
    )


def test_a_triage_to_another_vendor_tells_none_of_the_first(world):
    service_request = walk_to(world, RequestState.SUBMITTED)
    services.request_triage(service_request, actor=world.pm, vendor=world.vendor_b)
    event = service_request.events.latest("created_at", "pk")
    told = set(event.notifications.values_list("user__username", flat=True))
    assert "gwl-eng" in told and "opti-eng" not in told and "opti-lead" not in told
