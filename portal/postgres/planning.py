"""Statements planned for their own values every time, where a prepared statement's generic plan goes wrong."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections


@contextmanager
def custom_plans(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the statements inside unprepared, so PostgreSQL plans each for its own parameter values.

    A statement a connection runs often is prepared (portal/settings/base.py), and after five runs PostgreSQL may
    keep one generic plan for every value. Full-text search is planned on its values: how common the words are and
    how many documents the viewer's vendor has decide between the GIN index, a btree walk and both ANDed. Prepared,
    a vendor engineer's reference search went generic from its sixth run and ANDed the GIN index with all 420,000
    of their vendor's documents: 0.07 → 32 ms a run on 1,000,000 requests (bench/RESULTS.md, "Findings,
    2026-12-06 (session 12)"). Statements already prepared stay so for everything outside. Only psycopg's own
    counter is switched: no round trip to the server."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    saved = raw.prepare_threshold
    raw.prepare_threshold = None
    try:
        yield
    finally:
        raw.prepare_threshold = saved
