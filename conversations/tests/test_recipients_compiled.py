"""The compiled reads behind a notice's recipients answer as the plain querysets they are compiled from, on random
requests: `may_hear_all` (each person's `visible_to` check, compiled once per viewer shape) lets through exactly whom
`may_hear` does for every kind of person, and the people a notice's audiences name are those `_people_named`'s
queryset reads, whatever the request's shape (no vendor yet, nobody assigned, watchers, mutes)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from conversations.matrix import Audience
from conversations.models import RequestMute
from conversations.recipients import _people_compiled, _people_named, may_hear, may_hear_all
from conversations.watchers import can_see, watch
from requests_app import services
from requests_app.choices import EventKind, RequestState
from requests_app.testing.workflow import walk_to
from requests_app.tests import factories as f
from requests_app.timeline import timeline_append

from .helpers import add_teammate, add_view_all_watcher

pytestmark = pytest.mark.django_db

STATES = [
    RequestState.SUBMITTED,
    RequestState.PENDING_APPROVAL,
    RequestState.QUEUED,
    RequestState.IN_PROGRESS,
    RequestState.RESOLVED,
    RequestState.CANCELLED,
]


def _everyone(world: Any) -> list[Any]:
    """Every kind of person: both teams, both vendors' engineers and leads, the PM, eGov DevOps, a view-all
    watcher, a superuser, a teammate, and inactive ones of the requester's team and of the vendor."""
    add_teammate(world)
    add_view_all_watcher(world)
    f.UserFactory(username="root", is_superuser=True)
    world.team_a.members.add(f.UserFactory(username="gone", is_active=False))
    f.VendorEngineerFactory(username="opti-gone", vendor=world.vendor_a, is_active=False)
    f.UserFactory(username="nobody")  # in no team, of no vendor
    return list(get_user_model().objects.order_by("pk"))


def _random_requests(world: Any, rng: random.Random, count: int) -> list[Any]:
    """Requests in random states, of either team, queued with either vendor, with comments, internal notes and
    links (some across vendors) on their timelines."""
    made = []
    for _ in range(count):
        state = rng.choice(STATES)
        # the other team files too, except what the world's requester cancels (it sees only its own team's)
        other_team = state != RequestState.CANCELLED and rng.random() < 0.4
        actor = world.other_requester if other_team else world.requester
        if state == RequestState.QUEUED and rng.random() < 0.5:  # queued with the other vendor
            service_request = walk_to(world, RequestState.SUBMITTED, actor=actor)
            service_request = services.request_triage(service_request, actor=world.pm, vendor=world.vendor_b)
        else:
            service_request = walk_to(world, state, actor=actor)
        timeline_append(service_request, kind=EventKind.COMMENT, actor=world.pm, message="public")
        timeline_append(service_request, kind=EventKind.COMMENT, actor=world.pm, message="note", internal=True)
        made.append(service_request)
    linked = set()
    for service_request in made:
        other = rng.choice(made)
        if other.pk != service_request.pk and frozenset((other.pk, service_request.pk)) not in linked:
            linked.add(frozenset((other.pk, service_request.pk)))
            services.link_add(
                actor=None, service_request=service_request, relation="relates_to", other_reference=other.reference
            )
    return made


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_may_hear_all_lets_through_exactly_whom_may_hear_does_on_random_events(world, seed):
    rng = random.Random(seed)
    people = _everyone(world)
    heard_some, refused_some = False, False
    for service_request in _random_requests(world, rng, 6):
        for event in service_request.events.order_by("pk"):
            # each person as a fresh object, as the recipients' query makes them (no permissions read yet)
            expected = {user.pk for user in people if may_hear(event, get_user_model().objects.get(pk=user.pk))}
            fresh = list(get_user_model().objects.order_by("pk"))
            assert may_hear_all(event, fresh) == expected, (event.kind, event.internal, service_request.state)
            heard_some |= bool(expected)
            refused_some |= len(expected) < len(people)
    assert heard_some and refused_some  # the comparison was not between two empty answers


@pytest.mark.parametrize("seed", [1, 2])
def test_the_compiled_people_are_those_the_audiences_queryset_names(world, seed):
    rng = random.Random(seed)
    people = _everyone(world)
    for service_request in _random_requests(world, rng, 5):
        for watcher in rng.sample([world.pm, world.vendor_lead, world.requester, world.other_vendor_lead], 2):
            if rng.random() < 0.7 and can_see(service_request, watcher):
                watch(service_request, watcher)
        if rng.random() < 0.5:
            RequestMute.objects.get_or_create(service_request=service_request, user=rng.choice(people))
        event = service_request.events.latest("created_at", "pk")
        for _ in range(6):
            audiences = set(rng.sample(list(Audience), rng.randint(1, len(Audience))))
            plain = _people_named(event, audiences)
            compiled = _people_compiled(event, audiences)
            assert (compiled is None) == (plain is None), audiences
            if plain is not None:
                assert [user.pk for user in compiled] == list(plain.values_list("pk", flat=True)), audiences
