"""/metrics reports the broker's queue depth, which the worker autoscaler follows (deploy/kubernetes/hpa.yaml).

Against the real brokers: Redis and a RabbitMQ virtual host of the test's own (tests/support/brokers.py); no worker
runs, so published tasks stay in the queue.
"""

from __future__ import annotations

import re
import threading

import pytest

from portal.celery import app
from tests.support.brokers import Broker
from tests.support.network import BlackHole

pytestmark = pytest.mark.django_db

SCRAPE_DEADLINE = 10.0  # generous on a busy machine; the broker read itself is bounded by 1 s


def _sample(body: str, name: str) -> float | None:
    match = re.search(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", body, re.MULTILINE)
    return float(match.group(1)) if match else None


def _scrape(client) -> str:
    """GET /metrics from another thread, failing if it does not answer within SCRAPE_DEADLINE."""
    answer: list = []
    thread = threading.Thread(target=lambda: answer.append(client.get("/metrics", REMOTE_ADDR="127.0.0.1")))
    thread.start()
    thread.join(timeout=SCRAPE_DEADLINE)
    assert answer, f"/metrics did not answer within {SCRAPE_DEADLINE} s"
    assert answer[0].status_code == 200
    return answer[0].content.decode()


def test_metrics_report_the_tasks_waiting_in_the_queue(client, celery_broker: Broker):
    before = _scrape(client)
    assert _sample(before, "portico_broker_up") == 1
    assert _sample(before, 'portico_broker_queue_messages{queue="celery"}') == 0

    for n in range(3):
        app.send_task("portico.test.nobody_runs_this", args=[n])

    after = _scrape(client)
    assert _sample(after, 'portico_broker_queue_messages{queue="celery"}') == 3
    assert celery_broker.depth() == 3  # the tests' own reading agrees


@pytest.mark.parametrize("url", ["redis://127.0.0.1:{port}/0", "amqp://guest:guest@127.0.0.1:{port}//"])
def test_a_silent_broker_is_reported_down_without_holding_the_scrape(client, url):
    hole = BlackHole()
    original = app.conf.broker_url
    app.conf.broker_url = url.format(port=hole.port)
    try:
        body = _scrape(client)
        asked = len(hole.accepted)
    finally:
        app.conf.broker_url = original
        hole.close()
    assert asked >= 1  # the broker was really asked, and never answered
    assert _sample(body, "portico_broker_up") == 0
    assert _sample(body, 'portico_broker_queue_messages{queue="celery"}') is None
    assert _sample(body, "portico_outbox_pending") is not None  # the rest of the scrape is still there
