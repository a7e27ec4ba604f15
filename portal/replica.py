"""Reads that may come from a PostgreSQL streaming replica: reports, exports and /metrics.

With `DATABASE_REPLICA_URL` set, code inside `replica_reads()` (or a function decorated `@on_replica`) reads the
`replica` connection (the ORM through ReplicaRouter, raw SQL through `connections[read_alias()]`) — unless the
replica is down or further behind than `PORTICO_REPLICA_MAX_LAG` seconds, or the caller is inside a transaction on
the primary (it must see its own writes). Then it reads the primary: a report is never an error because its
replica is. Writes always go to the primary.

The replica's health is checked at most every `PORTICO_REPLICA_CHECK_SECONDS` per process, with short deadlines;
a query that fails on the replica between checks marks it down and `@on_replica` runs the function again on the
primary (the functions it wraps only read, so running them twice is safe).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import DatabaseError, connections

REPLICA = "replica"
PRIMARY = "default"

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

# The copy this context reads, chosen once per on_replica() call so one report never mixes the two.
_pinned: contextvars.ContextVar[str | None] = contextvars.ContextVar("portico_read_alias", default=None)
# The last health check in this process: (time.monotonic() when it ran, whether the replica may serve reads).
_health: tuple[float, bool] | None = None
_health_lock = threading.Lock()

# Seconds the replica has been replaying behind the primary; 0 when it has replayed everything it received.
LAG_SQL = (
    "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END, pg_is_in_recovery()"
)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _check() -> bool:
    """Whether the replica answers within its deadlines, is a replica, and lags at most the allowed seconds."""
    connection = connections[REPLICA]
    try:
        with connection.cursor() as cursor:
            timeout_ms = int(settings.PORTICO_REPLICA_CHECK_TIMEOUT * 1000)
            cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{timeout_ms}ms"])
            cursor.execute(LAG_SQL)
            lag, in_recovery = cursor.fetchone()
            cursor.execute("SELECT set_config('statement_timeout', '0', false)")
    except DatabaseError as exc:
        logger.warning("replica unavailable, reading the primary: %s", exc.__class__.__name__)
        connection.close()
        return False
    if not in_recovery:
        logger.warning("DATABASE_REPLICA_URL names a server that is not a replica; reading the primary")
        return False
    if float(lag) > settings.PORTICO_REPLICA_MAX_LAG:
        logger.info("replica %.1f s behind (allowed %s s), reading the primary", lag, settings.PORTICO_REPLICA_MAX_LAG)
        return False
    return True


def replica_usable() -> bool:
    """The replica's health, from a check at most PORTICO_REPLICA_CHECK_SECONDS old."""
    global _health
    if not replica_configured():
        return False
    with _health_lock:
        now = time.monotonic()
        if _health is None or now - _health[0] >= settings.PORTICO_REPLICA_CHECK_SECONDS:
            _health = (now, _check())
        return _health[1]


def replica_mark_down() -> None:
    """A query failed on the replica: read the primary until the next check."""
    global _health
    with _health_lock:
        _health = (time.monotonic(), False)
    connections[REPLICA].close()


def replica_reset() -> None:
    """Forget the last health check (tests, and a settings change)."""
    global _health
    with _health_lock:
        _health = None


@contextmanager
def replica_reads() -> Iterator[str]:
    """Reads in this block go to the replica if it is usable now (and no transaction on the primary is open, whose
    writes the block must see), else to the primary; yields the alias chosen."""
    alias = PRIMARY
    if replica_configured() and not connections[PRIMARY].in_atomic_block and replica_usable():
        alias = REPLICA
    token = _pinned.set(alias)
    try:
        yield alias
    finally:
        _pinned.reset(token)


def read_alias() -> str:
    """The database this context reads: the one replica_reads() chose, else the primary. Code that opens its own
    transaction or cursor for reading (reports' snapshot) uses it as `using=`."""
    return _pinned.get() or PRIMARY


def on_replica(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` (which only reads) against the replica when it is usable, else — or if the replica fails
    mid-way — against the primary."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not replica_configured() or _pinned.get() is not None:  # nothing to choose, or an outer call chose
            return function(*args, **kwargs)
        with replica_reads() as alias:
            if alias == PRIMARY:
                return function(*args, **kwargs)
            try:
                return function(*args, **kwargs)
            except DatabaseError as exc:
                # Down, or a query cancelled by recovery: the primary has the rows (a real bug fails there too).
                logger.warning("replica failed mid-read, reading the primary: %s", exc.__class__.__name__)
                replica_mark_down()
        with replica_reads():
            return function(*args, **kwargs)

    return wrapper


class ReplicaRouter:
    """DATABASE_ROUTERS entry: reads inside replica_reads() to the copy it chose; everything else as Django would."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return _pinned.get()

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two copies

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == PRIMARY
