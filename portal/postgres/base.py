"""Django's PostgreSQL backend, with a connection health check that asks the socket before it asks the server.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request that reuses a connection:
one more round trip on every signed-in call (bench/RESULTS.md, "Signed-in request: profile"). A server that ends
a connection (a restart, pg_terminate_backend, an idle timeout) writes its error and closes the socket, which then
polls readable; an idle connection in good health has nothing to read. So only a connection whose socket has
something to say is checked with `SELECT 1` (and dropped when that fails), as before.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
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
