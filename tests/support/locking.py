"""A row locked by another transaction, for the tests of sweepers that must skip such rows (SKIP LOCKED), not
wait for them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, models, transaction

# Far longer than skipping takes, far shorter than a sweeper that waits for the lock would take to give up.
SKIP_SECONDS = 5
HOLD_SECONDS = 10


@contextmanager
def row_locked_elsewhere(model: type[models.Model], pk: int) -> Iterator[None]:
    """Hold `SELECT … FOR UPDATE` on one row from another connection (a thread, as another worker's transaction)
    while the block runs; the lock goes when the block ends, or after HOLD_SECONDS at most."""
    locked, release = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                model._default_manager.select_for_update().get(pk=pk)
                locked.set()
                release.wait(HOLD_SECONDS)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(HOLD_SECONDS), "the other transaction never took the lock"
        yield
    finally:
        release.set()
        thread.join(HOLD_SECONDS)


def sweep_past_a_locked_row(model: type[models.Model], pk: int, sweep: Callable[[], int]) -> int:
    """Run `sweep` while another transaction holds the row `pk`; what it returned. Fails if it waited for the lock
    instead of skipping the row."""
    with row_locked_elsewhere(model, pk):
        started = time.monotonic()
        result = sweep()
        waited = time.monotonic() - started
    assert waited < SKIP_SECONDS, f"the sweep waited {waited:.1f} s for a locked row"
    return result
