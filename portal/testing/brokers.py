"""Real brokers for tests: Redis and RabbitMQ, kept apart per pytest-xdist worker and per test.

A pytest plugin (root conftest's `pytest_plugins`):
- each xdist worker publishes to its own Redis database (REDIS_URL's number plus the worker's index), so one
  worker's real Celery worker never takes another's tasks; subprocesses inherit it through REDIS_URL;
- `celery_broker` is the broker a real-worker test runs on, parametrized over both: "redis" (this worker's
  database, its queue emptied before and after) and "amqp" (a RabbitMQ virtual host of the test's own, made with
  rabbitmqctl and deleted afterwards), with this process's Celery app pointed at it for the test.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import amqp
import pytest
import redis
from django.conf import settings
from kombu import Connection

from portal.broker import DEFAULT_QUEUE, broker_kind, celery_broker_settings

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672"
REDIS_DATABASES = 16
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


def redis_database_url(url: str, offset: int) -> str:
    """`url` with its database number moved on by `offset` (wrapping round Redis's 16)."""
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(number + offset) % REDIS_DATABASES}"))


def rabbitmqctl(*args: str) -> str:
    command = ["rabbitmqctl", "-q", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
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
        if self.kind == "redis":
            client = redis.Redis.from_url(self.url)
            try:
                return int(client.llen(queue))
            finally:
                client.close()
        with Connection(self.url, connect_timeout=10) as connection:
            try:
                return connection.channel().queue_declare(queue, passive=True).message_count
            except amqp.exceptions.NotFound:  # nobody declared it yet
                return 0

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


@pytest.fixture(scope="session", autouse=True)
def _redis_database_per_xdist_worker(request: pytest.FixtureRequest) -> None:
    """Under pytest-xdist, this worker's own Redis database for everything the suite publishes."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or broker_kind(settings.CELERY_BROKER_URL) != "redis":
        return
    url = redis_database_url(settings.CELERY_BROKER_URL, int(worker.removeprefix("gw")))
    settings.CELERY_BROKER_URL = url
    os.environ["REDIS_URL"] = url  # for the workers and commands tests start
    use_broker(url)


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
