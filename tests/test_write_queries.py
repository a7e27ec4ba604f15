"""What filing a request and running a transition cost in SQL queries through the API (issue 17: 60 and 44
queries on 1,000,000 requests, each handler reading for itself), held to a ceiling that does not grow with the
number of people told: see bench/RESULTS.md, "Filing and transitions: queries and service time"."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conversations.watchers import watch
from portal.tokens import api_token_create
from requests_app.choices import RequestState
from requests_app.models import Notification
from requests_app.testing.workflow import walk_to
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db
# Counted inside the test's transaction: the service's own transaction is a savepoint here (two more statements),
# and nothing commits, so the outbox's after-commit send (two fewer) does not run. Each includes the one statement
# that re-derives the request's state spans (reports/spans.py).
FILE_CEILING = 29
PICK_UP_CEILING = 28


def _client(user: Any) -> Client:
    _, key = api_token_create(user=user, name="write-queries", expires_in_days=1)
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def _post(client: Client, path: str, body: dict[str, Any]) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(path, data=json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return response.status_code, [query["sql"] for query in captured.captured_queries]


def _file(client: Client, world: Any) -> tuple[str, list[str]]:
    body = {
        "title": "Pods restart in the payments service",
        "description": "Since this morning.",
        "request_type": "Troubleshooting",
        "priority": "P3",
        "environment": world.environment.code,
        "team": world.team_a.slug,
    }
    _, queries = _post(client, "/api/v1/requests/", body)
    return client.get("/api/v1/requests/?ordering=-created_at").json()["results"][0]["reference"], queries


def _grow_team(world: Any, members: int) -> None:
    for number in range(members):
        world.team_a.members.add(f.UserFactory(username=f"mate{number}"))


def test_filing_stays_under_its_ceiling_whoever_is_told(world):
    client = _client(world.requester)
    _file(client, world)  # the first call fills per-process caches and the token's last-used time
    _, few = _file(client, world)
    _grow_team(world, 6)
    f.ProgramManagerFactory(username="pm2")
    reference, many = _file(client, world)
    assert len(few) == len(many), (len(few), len(many))
    assert len(many) <= FILE_CEILING, "\n".join(many)
    told = Notification.objects.filter(event__service_request__reference=reference)
    assert told.count() == 8  # six new teammates and both program managers; never the requester themself
    # the SLA start reads nothing back and re-arms nothing on clocks it has just written
    assert not [sql for sql in many if sql.startswith('SELECT "sla_clockledgerentry"')]
    assert not [sql for sql in many if sql.startswith('UPDATE "sla_requestclock"')]


def _queued(world: Any) -> str:
    return walk_to(world, RequestState.QUEUED).reference


def test_a_transition_stays_under_its_ceiling_whoever_is_told(world):
    client = _client(world.vendor_engineer)
    path = "/api/v1/requests/{}/transitions/pick_up/"
    _post(client, path.format(_queued(world)), {})
    _, few = _post(client, path.format(_queued(world)), {})
    _grow_team(world, 6)
    crowded = walk_to(world, RequestState.QUEUED)
    for number in range(5):
        watcher = f.UserFactory(username=f"watcher{number}")
        world.team_a.members.add(watcher)
        watch(crowded, watcher)
    _, many = _post(client, path.format(crowded.reference), {})
    assert len(few) == len(many), (len(few), len(many))
    assert len(many) <= PICK_UP_CEILING, "\n".join(many)
    crowded.refresh_from_db()
    assert crowded.state == RequestState.IN_PROGRESS and crowded.assignee_id == world.vendor_engineer.pk
    told = set(Notification.objects.filter(event__service_request=crowded).values_list("user__username", flat=True))
    assert {f"watcher{number}" for number in range(5)} | {"asha"} <= told


def test_the_answer_to_a_write_shows_the_clocks_as_the_detail_does(world):
    client = _client(world.vendor_engineer)
    reference = _queued(world)
    answer = client.post(f"/api/v1/requests/{reference}/transitions/pick_up/", content_type="application/json")
    detail = client.get(f"/api/v1/requests/{reference}/").json()
    assert answer.status_code == 200
    body = answer.json()
    assert body["sla"]["response"]["met_at"] is not None
    for block in ("sla", "ola"):
        for measure in ("response", "resolution"):
            # remaining seconds count down between the two calls; the rest is the same
            shown = {k: v for k, v in body[block][measure].items() if k != "remaining_seconds"}
            again = {k: v for k, v in detail[block][measure].items() if k != "remaining_seconds"}
            assert shown == again, (block, measure)
