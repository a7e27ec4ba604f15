"""State spans: how long each request spent in each state, stored as its timeline changes (`StateSpan`).

A request's spans are a function of its timeline's state changes (events with a `to_state`, which
`request_transition` appends with the state before and after), taken in order (`created_at`, then id):

- before its first change: that change's `from_state`, from the request's filing (none when it has no `from_state`,
  as the filing's own event has not);
- from each change: its `to_state`, until the next change — or open (`ended_at` null) after the last one;
- a request with no state change at all: its current state since its filing.

For a timeline written by the state machine (each change's `from_state` is the previous change's `to_state`) that
is exactly the time the old event-summing computation of the delivery metrics found, window by window
(reports/tests/test_state_spans.py checks it on random life cycles).

One statement derives the spans of a range of requests (`state_spans_derive`: window functions, no per-event
Python), used both live — `state_spans_sync`, run by the event handler in the transaction that appended the
change — and by `state_spans_backfill` over every request in id batches. Re-deriving a request's spans whole
keeps a change that arrives out of time order (imports, fixtures) right, heals a request whose spans were missed
(events written by a process on older code) at its next change, and makes the backfill and the live writes the
same by construction.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection, transaction

from requests_app.models import RequestEvent, ServiceRequest

from .models import FOREVER, StateSpan

BACKFILL_BATCH = 50_000


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "spans": quote(StateSpan._meta.db_table),
        "events": quote(RequestEvent._meta.db_table),
        "requests": quote(ServiceRequest._meta.db_table),
    }


# Requests `%(low)s`..`%(high)s` (both included); portable SQL (PostgreSQL and SQLite both have window functions).
_CHANGES = (
    "changes AS ("
    "  SELECT e.service_request_id AS rid, e.from_state, e.to_state, e.created_at,"
    "  LEAD(e.created_at) OVER (PARTITION BY e.service_request_id ORDER BY e.created_at, e.id) AS next_at,"
    "  ROW_NUMBER() OVER (PARTITION BY e.service_request_id ORDER BY e.created_at, e.id) AS n"
    "  FROM {events} e WHERE e.service_request_id BETWEEN %(low)s AND %(high)s AND e.to_state <> ''"
    ")"
)
# The spans: (request, state, started, ended, assignee, vendor).
_SPANS = (
    "SELECT c.rid, c.to_state, c.created_at, c.next_at, r.assignee_id, r.vendor_id"
    "  FROM changes c JOIN {requests} r ON r.id = c.rid "
    "UNION ALL "
    "SELECT c.rid, c.from_state, r.created_at, c.created_at, r.assignee_id, r.vendor_id"
    "  FROM changes c JOIN {requests} r ON r.id = c.rid"
    "  WHERE c.n = 1 AND c.from_state <> '' AND r.created_at < c.created_at "
    "UNION ALL "
    "SELECT r.id, r.state, r.created_at, NULL, r.assignee_id, r.vendor_id FROM {requests} r"
    "  WHERE r.id BETWEEN %(low)s AND %(high)s AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.rid = r.id)"
)
_DERIVE = (
    "WITH "
    + _CHANGES
    + " INSERT INTO {spans} (service_request_id, state, started_at, ended_at, assignee_id, vendor_id) "
    + _SPANS
)
# PostgreSQL: the same spans, the first (earliest) of a request's spans in a state carrying the end of their last
# (FOREVER while one is open) and their total seconds (EXTRACT's exact sum; null while one is open). One round trip:
# a data-modifying WITH runs whole even unreferenced, and the INSERT need not see it (no unique key on the spans),
# so clearing and deriving are one statement on every state change.
_DERIVE_TOTALS = (
    "WITH cleared AS ({clear}), "  # noqa: S608 — table names; values are parameters
    + _CHANGES
    + ", "
    "derived (rid, state, started_at, ended_at, assignee_id, vendor_id) AS (" + _SPANS + ") "
    "INSERT INTO {spans} (service_request_id, state, started_at, ended_at, assignee_id, vendor_id, state_until,"
    " state_seconds) "
    "SELECT rid, state, started_at, ended_at, assignee_id, vendor_id,"
    "  CASE WHEN ROW_NUMBER() OVER ordered = 1 THEN MAX(COALESCE(ended_at, %(forever)s)) OVER whole END,"
    "  CASE WHEN ROW_NUMBER() OVER ordered = 1 AND COUNT(*) OVER whole = COUNT(ended_at) OVER whole"
    "    THEN (SUM(EXTRACT(epoch FROM ended_at - started_at)) OVER whole)::float8 END"
    "  FROM derived WINDOW whole AS (PARTITION BY rid, state), ordered AS (PARTITION BY rid, state ORDER BY started_at)"
)
_CLEAR = "DELETE FROM {spans} WHERE service_request_id BETWEEN %(low)s AND %(high)s"
# A change committed while a batch is derived would have its spans written twice (the handler's DELETE cannot see
# the batch's rows, committed after its snapshot): the batch holds its requests as a transition's row lock would.
_HOLD = "SELECT COUNT(*) FROM (SELECT 1 FROM {requests} WHERE id BETWEEN %(low)s AND %(high)s FOR SHARE) held"


def state_spans_derive(low: int, high: int, *, hold: bool = False) -> int:
    """Replace the spans of requests `low`..`high` (ids, both included) with those their timelines give, in the
    caller's transaction; `hold` share-locks the requests first (a live database). Returns the spans written."""
    tables = _tables()
    with connection.cursor() as cursor:
        if hold and connection.vendor == "postgresql":
            cursor.execute(_HOLD.format(**tables), {"low": low, "high": high})
        if connection.vendor == "postgresql":
            sql = _DERIVE_TOTALS.format(clear=_CLEAR.format(**tables), **tables)
            cursor.execute(sql, {"low": low, "high": high, "forever": FOREVER})
        else:
            cursor.execute(_CLEAR.format(**tables), {"low": low, "high": high})
            cursor.execute(_DERIVE.format(**tables), {"low": low, "high": high})
        return cursor.rowcount


def state_spans_sync(*, service_request_id: int) -> None:
    """Re-derive one request's spans from its timeline, in the caller's transaction (the event handler's)."""
    state_spans_derive(service_request_id, service_request_id)


def state_spans_backfill(
    *, batch: int = BACKFILL_BATCH, progress: Callable[[int, int], None] | None = None
) -> dict[str, float]:
    """Derive every request's spans, `batch` request ids per transaction (short locks on a live database); safe to
    run again at any time. Returns the requests' id range, the spans written and the seconds taken."""
    started = time.perf_counter()
    ids = ServiceRequest.objects.order_by().values_list("pk", flat=True)
    first, last = ids.order_by("pk").first(), ids.order_by("-pk").first()
    written = 0
    if first is not None and last is not None:
        for low in range(first, last + 1, batch):
            with transaction.atomic():
                written += state_spans_derive(low, min(low + batch - 1, last), hold=True)
            if progress:
                progress(min(low + batch - 1, last), written)
    return {"first": first or 0, "last": last or 0, "spans": written, "seconds": time.perf_counter() - started}
