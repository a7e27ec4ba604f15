"""The transactional outbox: every task is recorded with the change that needs it, then sent after commit."""

from __future__ import annotations

import functools
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu import pools
from kombu.pools import ProducerPool

from .broker import broker_kind
from .compiled import CompiledObjects
from .models import OutboxMessage

logger = logging.getLogger(__name__)
# The on-commit send gets this long before the sweeper may try the same row, so the two rarely both send.
SWEEP_GRACE = timedelta(seconds=10)


def outbox_enqueue(task: str, **kwargs: Any) -> OutboxMessage:
    """Record `task(**kwargs)` in the current transaction and send it once the transaction commits."""
    message = OutboxMessage.objects.create(task=task, kwargs=kwargs)
    transaction.on_commit(lambda: _send(message.pk))
    return message


@functools.cache
def _locked_message_query() -> CompiledObjects:
    def build(shape: None, **markers: Any) -> Any:
        return OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=markers["message"])[:1]  # first()

    return CompiledObjects(build, {"message": -(2**62) + 901})  # an id no message holds


def _send(message_id: int) -> bool:
    with transaction.atomic():
        # Compiled once per process: every write sends its messages this way after commit.
        found = _locked_message_query().objects(None, message=message_id)
        message = found[0] if found else None
        if message is None or message.dispatched_at is not None:
            return False
        return _publish(message)


def _producers() -> ProducerPool:
    """Producers for the outbox alone, on connections that never wait long for the broker.

    Celery's own pool has no socket timeouts (the worker's consumer must not have them forced on it), so a
    frozen Redis, one that accepts the connection and never answers, would hold a web request for ever.
    kombu keeps one pool per broker URL and options, so this is built once per process."""
    from portal.celery import app

    timeout = settings.PORTICO_OUTBOX_PUBLISH_TIMEOUT
    options: dict[str, float] = {}
    kind = broker_kind(app.conf.broker_url)
    if kind == "redis":
        options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    elif kind == "amqp":
        # The handshake waits connect_timeout; each read (a publisher confirm) and write waits the others.
        options = {"read_timeout": timeout, "write_timeout": timeout}
    return pools.producers[app.connection_for_write(connect_timeout=timeout, transport_options=options)]


def _publish(message: OutboxMessage) -> bool:
    from portal.celery import app

    try:
        with _producers().acquire(block=True, timeout=settings.PORTICO_OUTBOX_PUBLISH_TIMEOUT) as producer:
            # One connection attempt and no publish retries: a web request must not wait on a dead broker (kombu
            # would otherwise keep reconnecting for broker_connection_timeout plus back-off, ~6 s per message).
            # What is not sent now stays here for the sweeper.
            if producer.connection is None:  # kombu's pool always binds one; checked for the type's sake
                raise ConnectionError("the producer has no connection")
            producer.connection.ensure_connection(max_retries=0)
            app.send_task(message.task, kwargs=message.kwargs, retry=False, producer=producer)
    except Exception as exc:  # kombu/redis raise many types; all mean "not sent, try later"
        logger.warning("outbox: %s not sent (%s); it will be retried", message.task, exc.__class__.__name__)
        OutboxMessage.objects.filter(pk=message.pk).update(
            attempts=message.attempts + 1, last_error=f"{exc.__class__.__name__}: {exc}"[:500]
        )
        return False
    OutboxMessage.objects.filter(pk=message.pk).update(dispatched_at=timezone.now(), attempts=message.attempts + 1)
    return True


def outbox_dispatch(*, batch: int = 200) -> int:
    """Send messages the on-commit attempt could not; safe to run on several workers at once."""
    sent = 0
    while True:
        with transaction.atomic():
            pending = list(
                OutboxMessage.objects.filter(dispatched_at__isnull=True, created_at__lte=timezone.now() - SWEEP_GRACE)
                .select_for_update(skip_locked=True)
                .order_by("pk")[:batch]
            )
            for message in pending:
                if not _publish(message):
                    return sent  # the broker is still down; stop here and keep the order
                sent += 1
        if len(pending) < batch:
            return sent
