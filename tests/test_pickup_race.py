"""Two engineers pick up the same queued request at the same moment, on two PostgreSQL connections: one wins."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from portal.exceptions import Conflict, InvalidTransition
from requests_app import services
from requests_app.choices import EventKind, RequestState
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.testing.workflow import walk_to
from requests_app.tests.factories import VendorEngineerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5  # several races, so the two threads really overlap in at least some of them


def _race(service_request_pk: int, engineers: list) -> dict[str, object]:
    """Both engineers load the queued request, meet at a barrier, then pick it up; returns who got what."""
    barrier = threading.Barrier(len(engineers), timeout=10)
    outcome: dict[str, object] = {}

    def pick_up(engineer) -> None:
        try:
            # Each thread has its own connection; both see the request queued before either acts.
            mine = ServiceRequest.objects.get(pk=service_request_pk)
            outcome[f"{engineer.username}:seen"] = mine.state
            barrier.wait()
            services.request_pick_up(mine, actor=engineer)
            outcome[engineer.username] = "won"
        except (InvalidTransition, Conflict) as exc:
            outcome[engineer.username] = exc
        finally:
            connections.close_all()  # this thread's connection, not the test's

    threads = [threading.Thread(target=pick_up, args=(engineer,)) for engineer in engineers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return outcome


def test_two_engineers_picking_up_at_once_exactly_one_wins(world):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    second_engineer = VendorEngineerFactory(username="opti-eng-2", vendor=world.vendor_a)
    engineers = [world.vendor_engineer, second_engineer]

    for _ in range(ROUNDS):
        service_request = walk_to(world, RequestState.QUEUED)
        outcome = _race(service_request.pk, engineers)

        assert [outcome[f"{e.username}:seen"] for e in engineers] == [RequestState.QUEUED, RequestState.QUEUED]
        winners = [e for e in engineers if outcome[e.username] == "won"]
        losers = [e for e in engineers if isinstance(outcome[e.username], InvalidTransition | Conflict)]
        assert len(winners) == 1, outcome
        assert len(losers) == 1, outcome
        assert outcome[losers[0].username].status_code == 409
        service_request.refresh_from_db()
        assert service_request.state == RequestState.IN_PROGRESS
        assert service_request.assignee == winners[0]
        pick_ups = RequestEvent.objects.filter(service_request=service_request, kind=EventKind.PICK_UP)
        assert list(pick_ups.values_list("actor_id", flat=True)) == [winners[0].pk]
