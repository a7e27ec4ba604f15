"""Liveness and readiness probes, against the real PostgreSQL and Redis the tests run on."""

from __future__ import annotations

import pytest

from portal.celery import app


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
