"""Liveness and readiness probes, against the real PostgreSQL and Redis the tests run on."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import connections

from portal import views
from portal.celery import app
from tests.support.network import BlackHole


def test_healthz_answers_without_touching_dependencies(client):
    # No django_db mark: pytest-django makes any database access here an error.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_200_when_postgres_and_redis_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["problems"], body["broker"]) == ("ok", [], "redis")


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_unreachable(client):
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert [problem.split(":")[0] for problem in body["problems"]] == ["broker"]
    assert client.get("/readyz").status_code == 200  # and ready again once it is back


# --- hard deadlines and the cached answer -------------------------------------------------------------------
PROBE_DEADLINE = 10.0  # generous on a busy machine; without socket timeouts the probe never returns at all


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


@pytest.fixture
def fresh_readiness(monkeypatch: pytest.MonkeyPatch) -> None:
    """No readiness answer cached in this process from an earlier test."""
    monkeypatch.setattr(views, "_readiness", None)


def _probe_within(client, deadline: float = PROBE_DEADLINE):
    """GET /readyz from another thread; the response, or None if it did not come back within `deadline`."""
    answer: list = []

    def probe() -> None:
        try:
            answer.append(client.get("/readyz"))
        finally:
            connections.close_all()  # this thread's own database connection

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout=deadline)
    return answer[0] if answer else None


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["redis://127.0.0.1:{port}/0", "amqp://guest:guest@127.0.0.1:{port}//"])
def test_readyz_is_503_within_its_deadline_and_then_cached_when_the_broker_never_answers(
    client, settings, black_hole, fresh_readiness, url
):
    settings.PORTICO_READYZ_TIMEOUT = 0.5
    settings.PORTICO_READYZ_CACHE_SECONDS = 60
    original = app.conf.broker_url
    app.conf.broker_url = url.format(port=black_hole.port)
    try:
        first = _probe_within(client)
        assert first is not None, f"/readyz did not answer within {PROBE_DEADLINE} s"
        asked = len(black_hole.accepted)
        second = _probe_within(client)
    finally:
        app.conf.broker_url = original

    assert first.status_code == 503
    assert [problem.split(":")[0] for problem in first.json()["problems"]] == ["broker"]
    assert first["Retry-After"]
    assert asked >= 1  # the broker was really asked (and never answered)
    assert second is not None and second.status_code == 503
    assert second.json()["problems"] == first.json()["problems"]
    assert len(black_hole.accepted) == asked  # the second probe was answered from the cached result


@pytest.mark.django_db
def test_readyz_is_503_within_its_deadline_when_postgres_never_answers(client, black_hole, fresh_readiness):
    database = connections["default"].settings_dict  # shared with the probe thread's own connection
    port = database["PORT"]
    database["PORT"] = str(black_hole.port)  # connecting is bounded by PORTICO_DB_CONNECT_TIMEOUT (5 s)
    try:
        answer = _probe_within(client)
    finally:
        database["PORT"] = port

    assert answer is not None, f"/readyz did not answer within {PROBE_DEADLINE} s"
    assert answer.status_code == 503
    assert [problem.split(":")[0] for problem in answer.json()["problems"]] == ["database"]
    assert black_hole.accepted  # it did reach the "server", which never answered


@pytest.mark.django_db
def test_readyz_reuses_a_good_answer_within_the_cache_window(client, settings, fresh_readiness):
    settings.PORTICO_READYZ_CACHE_SECONDS = 60
    assert client.get("/readyz").status_code == 200
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        cached = client.get("/readyz")
        settings.PORTICO_READYZ_CACHE_SECONDS = 0
        checked = client.get("/readyz")
    finally:
        app.conf.broker_url = original

    assert (cached.status_code, cached.json()["problems"]) == (200, [])
    assert checked.status_code == 503  # with no cache window, the next probe checks again
