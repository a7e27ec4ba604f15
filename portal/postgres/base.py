"""Django's PostgreSQL backend, with a connection health check that asks the socket before it asks the server, and
timestamps read by psycopg's C loader.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request that reuses a connection:
one more round trip on every signed-in call (bench/RESULTS.md, "Signed-in request: profile"). A server that ends
a connection (a restart, pg_terminate_backend, an idle timeout) writes its error and closes the socket, which then
polls readable; an idle connection in good health has nothing to read. So only a connection whose socket has
something to say is checked with `SELECT 1` (and dropped when that fails), as before.
"""

from __future__ import annotations

import select
from datetime import UTC
from functools import lru_cache
from typing import Any

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.postgres import types
from psycopg.pq import Format

_TIMESTAMPTZ = types["timestamptz"].oid


def _psycopg_loader() -> Any:
    return psycopg.adapters.get_loader(_TIMESTAMPTZ, Format.TEXT)


@lru_cache
def _utc_adapters(template: psycopg.adapt.AdaptersMap) -> psycopg.adapt.AdaptersMap:
    """Django's adapters with psycopg's own timestamptz loader (its C one with psycopg[binary]) put back.

    Django's loader is a Python subclass of psycopg's Python loader that sets the zone it wants on every value:
    a list of 50 requests loads ~1,000 timestamps, ~3 ms of CPU (bench/RESULTS.md, "Prepared statements"). On a
    connection whose TimeZone is UTC, which Django sets when its zone is UTC, psycopg's loader gives the same
    values with the same `datetime.timezone.utc`."""
    loader = psycopg.adapters.get_loader(_TIMESTAMPTZ, Format.TEXT)
    if loader is None:  # psycopg always has one; kept for the type checker
        return template
    adapters = psycopg.adapt.AdaptersMap(template)
    adapters.register_loader(_TIMESTAMPTZ, loader)
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    def _utc(self) -> bool:
        # Server-side binding (portal/settings/base.py) also decides the named cursors' class, below.
        options = self.settings_dict["OPTIONS"]
        return bool(settings.USE_TZ) and self.timezone is UTC and options.get("server_side_binding") is True

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if self._utc():
            params["context"] = _utc_adapters(params["context"])
        return params

    def create_cursor(self, name: str | None = None) -> Any:
        # Django's own is this, then checks each new cursor's timestamp loader against its zone (and copies the
        # adapters when they differ); with psycopg's loader on a UTC connection they agree by construction.
        utc = self._utc()
        if not utc and self.connection.adapters.get_loader(_TIMESTAMPTZ, Format.TEXT) is not _psycopg_loader():
            return super().create_cursor(name)
        if name:  # a server-side cursor (`.iterator()`), holdable outside a transaction as Django makes it
            cursor = self.connection.cursor(name, scrollable=False, withhold=self.connection.autocommit)
        else:
            cursor = self.connection.cursor()
        if not utc:
            # The zone changed after this connection was made with psycopg's loader (a test overriding USE_TZ):
            # Django's own check would ask that loader for a `timezone` it does not carry, so its loader is put on
            # the cursor here, as Django does when the zones differ.
            register_tzloader(self.timezone, cursor)
        return cursor

    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        if not hasattr(select, "poll"):  # not on Linux or macOS: Django's check as it is
            return super().is_usable()
        try:
            poller = select.poll()
            poller.register(self.connection.fileno(), select.POLLIN | select.POLLPRI)
            pending = poller.poll(0)
        except (OSError, ValueError):
            return False
        return True if not pending else super().is_usable()
