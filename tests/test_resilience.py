"""Nothing is lost when Redis or PostgreSQL goes away, and nothing is half-written.

Redis: a real `redis-server` of the test's own is started, used as the broker, stopped while a request is filed
and started again; the work waits in the transactional outbox (PostgreSQL) meanwhile. A hung broker (accepts
connections, never answers) delays filing by the outbox's publish timeout only. PostgreSQL: connections are
refused (the connection settings point at a closed port), a live connection is terminated the way a restart
terminates it, and a backend dies in the middle of a filing transaction.

A worker SIGKILLed mid-task is covered where the work is: `provisioning/tests/test_worker.py` kills a prefork
child in the middle of a provisioning step (redelivered, finished exactly once), and `tests/test_celery_worker.py`
shows a redelivered notification is not sent twice.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import wsgiref.util
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import time_machine
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry
from rest_framework.test import APIClient

from portal.celery import app
from portal.models import OutboxMessage
from portal.outbox import SWEEP_GRACE, outbox_dispatch
from requests_app.choices import EventKind, Priority, RequestType
from requests_app.models import RequestEvent, ServiceRequest
from tests.support.waiting import free_port, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

QUEUE = "celery"
API_LIST = "/api/v1/requests/"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _api_filing(world, **overrides) -> dict:
    body = {
        "title": "Namespace for UAT",
        "description": "4 CPUs please.",
        "request_type": RequestType.INFRA_PROVISION,
        "priority": Priority.P2,
        "environment": world.environment.code,
        "stack": world.stack.code,
    }
    return body | overrides


def _form_filing(world, **overrides) -> dict:
    body = {
        "title": "Namespace for UAT",
        "description": "Four CPUs, please.",
        "request_type": RequestType.INFRA_PROVISION,
        "priority": Priority.P2,
        "environment": world.environment.pk,
        "stack": world.stack.pk,
    }
    return body | overrides


# --- Redis down: the outbox keeps the work ----------------------------------------------------------------
class RedisServer:
    """A redis-server of our own on one port, stopped and started again on that same port."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        # No client-side retries: "is it down?" must be answered at once.
        self.client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.ConnectionError:
            return False

    def start(self) -> None:
        command = [
            REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", str(self.workdir),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        process = self.process
        answered = wait_until(lambda: self._answers() or process.poll() is not None, seconds=30, interval=0.05)
        assert process.poll() is None, "redis-server exited at start"
        assert answered, "redis-server did not start"

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process = None
        self.client.connection_pool.disconnect()
        assert not self._answers()

    def queued_tasks(self) -> list[str]:
        """Task names waiting in the Celery queue, oldest first (kombu LPUSHes, the worker BRPOPs)."""
        return [json.loads(raw)["headers"]["task"] for raw in reversed(self.client.lrange(QUEUE, 0, -1))]


def _use_broker(url: str) -> None:
    """Point Celery's publishing at `url`.

    The app caches its connection pool and producer pool for the broker URL it first used; drop both, as Celery
    itself does after a fork, so the next publish builds them for `url` (kombu keeps one pool per URL)."""
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """Our own redis-server, made Celery's broker for the test; the configured broker is restored afterwards."""
    server = RedisServer(free_port(), tmp_path)
    server.start()
    original = app.conf.broker_url
    _use_broker(server.url)
    try:
        yield server
    finally:
        _use_broker(original)
        server.stop()


def test_publishing_goes_to_the_test_redis_server(world, redis_server):
    """The re-pointing works: without it the tests below would prove nothing about this server."""
    api = APIClient()
    api.force_authenticate(world.requester)

    response = api.post(API_LIST, _api_filing(world), format="json")

    assert response.status_code == 201, response.content
    assert redis_server.client.llen(QUEUE) >= 1
    assert "conversations.tasks.conversations_notify" in redis_server.queued_tasks()
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()


def test_a_request_filed_while_redis_is_down_is_saved_and_its_work_sent_when_redis_returns(world, redis_server):
    api = APIClient()
    api.force_authenticate(world.requester)
    browser = Client()
    browser.force_login(world.requester)
    redis_server.stop()

    started = time.monotonic()
    api_response = api.post(API_LIST, _api_filing(world, title="Filed over the API"), format="json")
    api_seconds = time.monotonic() - started
    started = time.monotonic()
    form_response = browser.post("/requests/new/", _form_filing(world, title="Filed in the browser"))
    form_seconds = time.monotonic() - started

    # The user sees success, promptly: the dead broker cost one refused connection, not kombu's reconnect loop.
    assert api_response.status_code == 201, api_response.content
    assert form_response.status_code == 302, form_response.content[:2000]
    assert (api_seconds < 5, form_seconds < 5) == (True, True), (api_seconds, form_seconds)
    filed = ServiceRequest.objects.filter(title__in=["Filed over the API", "Filed in the browser"])
    assert filed.count() == 2
    assert form_response["Location"].endswith(f"{filed.get(title='Filed in the browser').reference}/")
    events = RequestEvent.objects.filter(service_request__in=filed, kind=EventKind.FILED)
    assert events.count() == 2

    # The work is kept in PostgreSQL, not sent, with the reason.
    pending = list(OutboxMessage.objects.filter(dispatched_at__isnull=True))
    notify = {m.kwargs["event_id"] for m in pending if m.task == "conversations.tasks.conversations_notify"}
    assert notify == set(events.values_list("pk", flat=True))
    assert all(m.attempts == 1 and "Connection refused" in m.last_error for m in pending), [
        (m.attempts, m.last_error) for m in pending
    ]
    # While Redis is still down the sweeper sends nothing and keeps everything.
    with time_machine.travel(timezone.now() + SWEEP_GRACE + timedelta(seconds=30), tick=True):
        assert outbox_dispatch() == 0
    assert OutboxMessage.objects.filter(dispatched_at__isnull=True).count() == len(pending)

    redis_server.start()
    assert redis_server.client.llen(QUEUE) == 0  # a fresh server: anything queued now came from the outbox
    # Beat runs the sweeper every 30 s; this is its next run.
    with time_machine.travel(timezone.now() + SWEEP_GRACE + timedelta(seconds=30), tick=True):
        sent = outbox_dispatch()
        sent_again = outbox_dispatch()

    assert sent == len(pending)
    assert sent_again == 0  # nothing sent twice
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()
    assert redis_server.queued_tasks() == [m.task for m in pending]  # in the order they were written

    # And with the broker back, new work goes straight out on commit again.
    assert api.post(API_LIST, _api_filing(world, title="After"), format="json").status_code == 201
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()
    assert len(redis_server.queued_tasks()) > len(pending)


@pytest.fixture(params=["redis", "amqp"])
def frozen_broker(request: pytest.FixtureRequest) -> Iterator[None]:
    """A Redis or RabbitMQ that accepts connections and never answers (a hung or SIGSTOPped server), made Celery's
    broker.

    It never accepts, so clients sit in the listen backlog; after 15 s it closes, which resets them, so a
    publish without a read timeout fails this test slowly instead of hanging it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    closer = threading.Timer(15, listener.close)
    closer.start()
    original = app.conf.broker_url
    port = listener.getsockname()[1]
    _use_broker(
        {"redis": f"redis://127.0.0.1:{port}/0", "amqp": f"amqp://guest:guest@127.0.0.1:{port}//"}[request.param]
    )
    try:
        yield
    finally:
        _use_broker(original)
        closer.cancel()
        listener.close()


def test_a_frozen_broker_delays_filing_by_the_publish_timeout_only(world, frozen_broker, settings):
    settings.PORTICO_OUTBOX_PUBLISH_TIMEOUT = 0.5
    api = APIClient()
    api.force_authenticate(world.requester)

    started = time.monotonic()
    response = api.post(API_LIST, _api_filing(world), format="json")
    seconds = time.monotonic() - started

    assert response.status_code == 201, response.content
    pending = list(OutboxMessage.objects.filter(dispatched_at__isnull=True))
    assert pending
    assert all("Timeout" in m.last_error or "timed out" in m.last_error for m in pending), [
        m.last_error for m in pending
    ]
    assert seconds < 0.5 * len(pending) + 2, seconds  # one read timeout per message, nothing more


# --- PostgreSQL down --------------------------------------------------------------------------------------
def _assert_unavailable_json(response) -> None:
    assert response.status_code == 503, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert (body["error"]["code"], body["error"]["fields"]) == ("unavailable", {})
    assert "try again" in body["error"]["message"]


def _assert_friendly_page(response) -> None:
    assert response.status_code == 503, response.content[:2000]
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"]
    page = response.content.decode()
    assert "temporarily unavailable" in page
    assert "try again" in page.lower()
    for leak in ("Traceback", "OperationalError", "psycopg", "5432", "connection"):
        assert leak not in page, leak


def test_when_postgres_refuses_connections_probes_api_and_pages_say_so_and_recover_alone(world, client):
    client.force_login(world.requester)
    file_response = client.post(API_LIST, _api_filing(world), content_type="application/json")
    assert file_response.status_code == 201
    database = connections["default"]
    port = database.settings_dict["PORT"]
    database.close()
    database.settings_dict["PORT"] = str(free_port())  # nothing listens there: every connect is refused
    try:
        ready = client.get("/readyz")
        api = client.get(API_LIST)
        page = client.get("/")
        detail = client.get(f"/requests/{file_response.json()['reference']}/")
        health = client.get("/healthz")
    finally:
        database.settings_dict["PORT"] = port

    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert [problem.split(":")[0] for problem in ready.json()["problems"]] == ["database"]
    _assert_unavailable_json(api)
    _assert_friendly_page(page)
    _assert_friendly_page(detail)
    assert health.status_code == 200
    # PostgreSQL is back: the very next requests work, nobody restarts anything.
    assert client.get("/readyz").status_code == 200
    assert client.get(API_LIST).json()["count"] == 1
    assert client.get("/").status_code == 200


def _wsgi_get(path: str) -> str:
    """GET `path` through Django's real WSGI handler, which (unlike the test client) runs the per-request
    connection housekeeping: request_started closes connections that are obsolete or failed a health check."""
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path}
    wsgiref.util.setup_testing_defaults(environ)
    status: list[str] = []
    response = WSGIHandler()(environ, lambda line, headers, exc_info=None: status.append(line))
    response.close()  # request_finished
    return status[0]


def test_a_postgres_restart_costs_no_failed_request_thanks_to_connection_health_checks(world):
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    assert _wsgi_get("/readyz") == "200 OK"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    assert connection.connection is not None  # kept between requests (CONN_MAX_AGE), as in production

    # What a PostgreSQL restart does to every open connection: the server ends it.
    _terminate_backend(pid)

    assert _wsgi_get("/readyz") == "200 OK"  # the dead connection was noticed and replaced before use
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def _terminate_backend(pid: int) -> None:
    """End backend `pid` as a restart would, and return once it is gone (it has then told its client so)."""
    admin = connections.create_connection("default")
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone() == (True,)
            deadline = time.monotonic() + 10
            while True:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
                if cursor.fetchone() == (0,):
                    break
                assert time.monotonic() < deadline, f"backend {pid} still there after 10 s"
    finally:
        admin.close()


def _last_statement(pid: int) -> str:
    admin = connections.create_connection("default")
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
            return cursor.fetchone()[0]
    finally:
        admin.close()


def test_a_healthy_reused_connection_is_checked_without_a_round_trip(world):
    """portal.postgres asks the socket, not the server: Django's `SELECT 1` was a round trip on every request."""
    assert connection.settings_dict["ENGINE"] == "portal.postgres"
    assert _wsgi_get("/readyz") == "200 OK"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid() AS health_check_probe")
        (pid,) = cursor.fetchone()
    assert connection.is_usable()
    assert _last_statement(pid) == "SELECT pg_backend_pid() AS health_check_probe"  # no SELECT 1 since

    _terminate_backend(pid)
    assert not connection.is_usable()  # the server's farewell is waiting on the socket
    assert _wsgi_get("/readyz") == "200 OK"  # so the request replaces it before use


@pytest.fixture
def backend_dies_when_filing() -> Iterator[None]:
    """A trigger that kills its own PostgreSQL backend when a "filed" event is inserted: the database goes away
    in the middle of request_file's transaction, after the request row was written."""
    table = RequestEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION portico_test_die() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); RETURN NEW; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER portico_test_die BEFORE INSERT ON {table} FOR EACH ROW "
            f"WHEN (NEW.kind = '{EventKind.FILED.value}') EXECUTE FUNCTION portico_test_die()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:  # a fresh connection: the one that died was dropped
            cursor.execute(f"DROP TRIGGER IF EXISTS portico_test_die ON {table}")
            cursor.execute("DROP FUNCTION IF EXISTS portico_test_die()")


def test_a_database_dying_mid_filing_leaves_nothing_half_written(world, backend_dies_when_filing):
    api = APIClient()
    api.force_authenticate(world.requester)
    browser = Client()
    browser.force_login(world.requester)
    counts = (ServiceRequest.objects.count(), RequestEvent.objects.count(), OutboxMessage.objects.count())

    api_response = api.post(API_LIST, _api_filing(world), format="json")
    form_response = browser.post("/requests/new/", _form_filing(world))

    _assert_unavailable_json(api_response)
    _assert_friendly_page(form_response)
    # The request row was inserted before the backend died; the transaction never committed, so it is gone.
    assert (ServiceRequest.objects.count(), RequestEvent.objects.count(), OutboxMessage.objects.count()) == counts


def test_filing_works_again_once_the_database_is_back(world, backend_dies_when_filing):
    api = APIClient()
    api.force_authenticate(world.requester)
    assert api.post(API_LIST, _api_filing(world), format="json").status_code == 503
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER portico_test_die ON {RequestEvent._meta.db_table}")

    response = api.post(API_LIST, _api_filing(world), format="json")

    assert response.status_code == 201, response.content
    assert ServiceRequest.objects.get().events.get().kind == EventKind.FILED
