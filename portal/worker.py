"""How a long-lived web worker treats Python's garbage collector, once Django is loaded (gunicorn's workers, and
the benchmarks that time requests in one process as such a worker would serve them)."""

from __future__ import annotations

import gc

# A young generation this large collects every few requests instead of several times in one: a full collection
# in the middle of a request was the p99 of the list endpoints (bench/RESULTS.md, "Load test and SLA: findings").
GENERATION_0_THRESHOLD = 50_000


def worker_settle() -> None:
    """Load every URLconf and view now, move all that is loaded out of the collector's sight (it lives as long as
    the worker), and collect less often."""
    from django.urls import get_resolver

    get_resolver().check()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GENERATION_0_THRESHOLD, 20, 20)
