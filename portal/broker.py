"""The Celery settings that follow from which broker the URL names; settings and tests both build them here.

- RabbitMQ (`amqp://`, production): one durable **quorum** queue (replicated, survives a broker restart), publisher
  confirms (a publish returns only once the broker has the message), and no visibility timeout: a message stays
  unacknowledged until the task ends (acks_late), and if the worker's connection drops — a worker killed whole, a
  node lost — RabbitMQ hands it to another consumer at once. Countdowns and retries with back-off wait in the
  broker (Celery's native delayed delivery, which needs a topic exchange), not in a worker's memory.
- Redis: a message a dead worker had taken comes back only after the visibility timeout, so it must be longer than
  the longest task and countdown.
- The filesystem transport (the embedded default): folders under var/, no server at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import amqp
from kombu import Connection, Exchange, Queue
from kombu.exceptions import ChannelError

DEFAULT_QUEUE = "celery"


def broker_kind(url: str) -> str:
    """The kind of broker `url` names: "amqp", "redis", "filesystem", or its scheme for anything else."""
    scheme = url.split("://", 1)[0].split("+", 1)[0]
    if scheme in ("amqp", "amqps", "pyamqp"):
        return "amqp"
    if scheme in ("redis", "rediss"):
        return "redis"
    return scheme


def celery_broker_settings(url: str, *, folder: Path, visibility_timeout: int) -> dict[str, Any]:
    """Celery's settings for broker `url`, under Celery's own (lower-case) names; settings prefix them CELERY_."""
    kind = broker_kind(url)
    if kind == "amqp":
        exchange = Exchange(DEFAULT_QUEUE, type="topic", durable=True)
        return {
            "broker_transport_options": {"confirm_publish": True},
            "task_queues": (
                Queue(
                    DEFAULT_QUEUE,
                    exchange,
                    routing_key=DEFAULT_QUEUE,
                    durable=True,
                    queue_arguments={"x-queue-type": "quorum"},
                ),
            ),
            "task_default_exchange_type": "topic",
            "task_default_queue_type": "quorum",
            "task_create_missing_queue_type": "quorum",
            "task_create_missing_queue_exchange_type": "topic",
            # Quorum queues refuse global QoS; Celery then counts prefetch per consumer (still 1 task at a time).
            "worker_detect_quorum_queues": True,
        }
    classic = {
        "task_queues": None,
        "task_default_exchange_type": "direct",
        "task_default_queue_type": "classic",
        "task_create_missing_queue_type": "classic",
        "task_create_missing_queue_exchange_type": None,
        "worker_detect_quorum_queues": True,
    }
    if kind == "filesystem":
        options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            # kombu otherwise creates ./control in whatever directory the worker starts from
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
        return classic | {"broker_transport_options": options}
    # Longer than the longest task and the longest countdown, or Redis redelivers work that is still running.
    return classic | {"broker_transport_options": {"visibility_timeout": visibility_timeout}}


def broker_deadline_options(url: str, timeout: float) -> dict[str, Any]:
    """Transport options putting socket deadlines on connecting to the broker *and* on every read and write after
    it: a broker that accepts the connection and never answers must fail the caller, not hold it."""
    kind = broker_kind(url)
    if kind == "redis":
        return {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    if kind == "amqp":
        # py-amqp bounds the TCP connect and the AMQP handshake by connect_timeout, later reads and writes by these.
        return {"read_timeout": timeout, "write_timeout": timeout}
    return {}


def queue_depth(url: str, queue: str = DEFAULT_QUEUE, *, timeout: float = 2.0) -> int | None:
    """Messages waiting in `queue` on broker `url` (not those a worker has taken), read within the deadlines.

    0 when nobody declared the queue yet (Redis drops an empty list's key); None for a broker that cannot say (the
    embedded filesystem transport). Raises the client's connection error when the broker does not answer in
    time, so a caller can report the broker as down instead of hanging."""
    if broker_kind(url) not in ("redis", "amqp"):
        return None
    options = broker_deadline_options(url, timeout)
    with Connection(url, connect_timeout=timeout, transport_options=options) as connection:
        connection.ensure_connection(max_retries=0)  # one attempt: a reading reports, it does not wait for recovery
        channel: Any = connection.default_channel  # kombu types it as the abstract StdChannel
        try:
            return int(channel.queue_declare(queue, passive=True).message_count)
        except (ChannelError, amqp.exceptions.NotFound):
            return 0
