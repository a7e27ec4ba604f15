"""PostgreSQL's `percentile_cont` interpolation in Python, for SQLite (PostgreSQL computes it in the reports' SQL)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile_linear(values: Sequence[float], fraction: float) -> float | None:
    """What `percentile_cont` returns: the value at position fraction × (n − 1), interpolated between neighbours."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
