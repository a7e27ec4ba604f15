"""Percentiles in the database (PostgreSQL's `percentile_cont`) and the same interpolation in Python for SQLite."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.db.models import Aggregate, DurationField


class PercentileCont(Aggregate):
    """`percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`: the linearly interpolated percentile."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        # Inlined as a literal: it is a float we validated, and the ordered-set syntax wants a constant here.
        extra.setdefault("output_field", DurationField())
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentile_linear(values: Sequence[float], fraction: float) -> float | None:
    """What `percentile_cont` returns: the value at position fraction × (n − 1), interpolated between neighbours."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
