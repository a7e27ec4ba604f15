"""Real brokers for tests: Redis and RabbitMQ, kept apart per pytest-xdist worker and per test.

A pytest plugin (root conftest's `pytest_plugins`), used by tests/support/worker.py:
- each xdist worker publishes to a redis-server of its own, started for the session on a free port (without xdist,
  REDIS_URL's server as before), so no other process's Celery worker takes its tasks, nor its Celery worker
  theirs; subprocesses inherit it through REDIS_URL;
- `celery_broker` is the broker a real-worker test runs on, parametrized over both: "redis" (that server, its
  queue emptied before and after) and "amqp" (a RabbitMQ virtual host of the test's own, made with rabbitmqctl
  and deleted afterwards), with this process's Celery app pointed at it for the test.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings

from portal.broker import DEFAULT_QUEUE, broker_kind, celery_broker_settings, queue_depth

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672"
PR_SET_PDEATHSIG = 1  # <sys/prctl.h>
# Redis keeps a message a worker has taken under these keys until it is acknowledged.
REDIS_UNACKED = ("unacked", "unacked_index", "unacked_mutex")


def use_broker(url: str) -> None:
    """Point this process's Celery app at `url`, with the queues and transport options that broker's kind needs.

    The app caches its connection and producer pools, its queues and its router for the broker it first used;
    drop them all, as Celery itself does after a fork, so the next publish builds them for `url`."""
    from portal.celery import app

    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 2 * 60 * 60)
    conf = celery_broker_settings(url, folder=settings.VAR_DIR / "broker", visibility_timeout=visibility)
    app.conf.update(broker_url=url, **conf)
    app._pool = None
    app.amqp._producer_pool = None
    app.amqp._rtable = None
    for cached in ("queues", "default_queue", "router", "default_exchange", "send_task_message"):
        app.amqp.__dict__.pop(cached, None)


def rabbitmqctl(*args: str) -> str:
    command = ["rabbitmqctl", "-q", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stdout}{result.stderr}")
    return result.stdout


@dataclass(frozen=True)
class Broker:
    """The broker a test's Celery worker and this process share."""

    kind: str  # "redis" or "amqp"
    url: str

    def worker_env(self) -> dict[str, str]:
        """Environment variables that put a worker subprocess (portal.settings.test) on this broker."""
        return {"CELERY_BROKER_URL": self.url}

    def depth(self, queue: str = DEFAULT_QUEUE) -> int:
        """Messages waiting in `queue` (not those a worker has taken); 0 if it does not exist yet."""
        return queue_depth(self.url, queue, timeout=10) or 0

    def queue_types(self) -> dict[str, str]:
        """RabbitMQ only: the type ("quorum", "classic") of each queue in this test's virtual host."""
        vhost = urlsplit(self.url).path.removeprefix("/")
        lines = rabbitmqctl("list_queues", "-p", vhost, "--no-table-headers", "name", "type").splitlines()
        return dict(line.split("\t") for line in lines if "\t" in line)

    def purge(self, queue: str = DEFAULT_QUEUE) -> None:
        """Empty `queue`, and on Redis the messages taken but never acknowledged (they would come back)."""
        if self.kind == "redis":
            client = redis.Redis.from_url(self.url)
            try:
                client.delete(queue, *REDIS_UNACKED)
            finally:
                client.close()


@contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A RabbitMQ virtual host of its own (queues, exchanges, messages), deleted with all it holds afterwards."""
    name = f"portico-test-{uuid.uuid4().hex[:12]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"{RABBITMQ_URL}/{name}"
    finally:
        rabbitmqctl("delete_vhost", name)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the test process that started it dies, however it dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@pytest.fixture(scope="session", autouse=True)
def _redis_server_per_xdist_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Under pytest-xdist, a redis-server of this worker's own (on a free port) for everything the suite publishes.

    Database numbers on a shared server are too few to hand out safely: another checkout's suite on the same
    number would feed its tasks to this worker's Celery worker and take this one's."""
    if not os.environ.get("PYTEST_XDIST_WORKER") or broker_kind(settings.CELERY_BROKER_URL) != "redis":
        yield
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--dir", str(tmp_path_factory.mktemp("redis")),
    ]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    deadline = time.monotonic() + 30
    while True:
        try:
            if client.ping():
                break
        except redis.ConnectionError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {port} did not start") from None
        time.sleep(0.05)
    client.close()
    settings.CELERY_BROKER_URL = url
    os.environ["REDIS_URL"] = url  # for the workers and commands tests start
    use_broker(url)
    try:
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(params=["redis", "amqp"])
def celery_broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """The broker for a test with a real worker: Redis (this xdist worker's database) or RabbitMQ (a vhost of the
    test's own); this process publishes to it for the duration of the test."""
    if request.param == "redis":
        broker = Broker("redis", settings.CELERY_BROKER_URL)
        broker.purge()
        try:
            yield broker
        finally:
            broker.purge()
        return
    from portal.celery import app

    original = app.conf.broker_url
    with rabbitmq_vhost() as url:
        use_broker(url)
        try:
            yield Broker("amqp", url)
        finally:
            use_broker(original)
