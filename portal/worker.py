"""How a long-lived web worker treats Python's garbage collector, once Django is loaded (gunicorn's workers, and
the benchmarks that time requests in one process as such a worker would serve them)."""

from __future__ import annotations

import gc
import itertools

# So high that no ordinary request reaches it: the collector runs between requests instead (below). Left to
# itself it ran in the middle of whichever request crossed the threshold: at 700 (Python's default) it promoted
# that request's live objects to the older generations, whose collections then took tens of milliseconds; at this
# threshold alone, one young collection every few hundred requests swept 45,000 objects in 20-90 ms, the p99 of
# every page (bench/RESULTS.md, "Findings, 2026-12-06 (session 15 …)").
GENERATION_0_THRESHOLD = 50_000
# Before every request the young generation (the previous request's garbage, none of it alive any more) is
# collected; every MIDDLE_EVERY-th request the middle one and every FULL_EVERY-th the whole heap, which hold only
# what outlived earlier requests and so stay small.
MIDDLE_EVERY = 100
FULL_EVERY = 1_000
_served = itertools.count(1)


def worker_settle() -> None:
    """Load every URLconf and view now, move all that is loaded out of the collector's sight (it lives as long as
    the worker), and leave collecting to `collect_between_requests`."""
    from django.urls import get_resolver

    get_resolver().check()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GENERATION_0_THRESHOLD, 20, 20)


def collect_between_requests() -> None:
    """Collect before a request starts, when what the last one left is all garbage and still small (~0.1-2 ms)."""
    served = next(_served)
    gc.collect(2 if served % FULL_EVERY == 0 else 1 if served % MIDDLE_EVERY == 0 else 0)
