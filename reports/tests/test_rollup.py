"""The grouped rows summed into slices by the database (GROUPING SETS) equal the same rows summed in Python, as
SQLite (the embedded default) sums them."""

from __future__ import annotations

import pytest

from reports.periods import week_parse
from reports.selectors.queries import (
    _backlog_rows,
    _clock_rows,
    _flow_rows,
    _rollup_grouped,
    _rollup_grouped_python,
    _scope,
    _slices,
    _sums,
)
from reports.selectors.types import AGE_LABELS, BACKLOG_STATES

from .conftest import NOW

pytestmark = pytest.mark.django_db

BACKLOG = {
    "backlog": ("backlog", None),
    **{f"age:{k}": ("backlog", ("age", k)) for k in AGE_LABELS},
    **{f"state:{s}": ("backlog", ("state_at", s)) for s in BACKLOG_STATES},
}


def _plain(slices) -> dict:
    """Slices without the zero counts (the database sums a measure no row has as 0, Python leaves it out)."""
    return {
        dimension: {key: {m: n for m, n in counts.items() if n} for key, counts in by_key.items()}
        for dimension, by_key in slices.items()
    }


@pytest.mark.parametrize("filters", [{}, {"vendor": "optit"}, {"environment": "punjab", "priority": "P2"}])
def test_the_database_sums_the_slices_as_python_does(dataset, filters):
    scope = _scope(
        dataset.world.pm,
        vendor=filters.get("vendor"),
        environment=filters.get("environment"),
        priority=filters.get("priority"),
        request_type=None,
    )
    week = week_parse("2026-W47", tz="Asia/Kolkata")
    queries = [(_flow_rows(scope, week.start, week.end), _sums("created", "triaged", "resolved", "closed"))]
    queries += [(q, _sums(*measures)) for q, measures in _clock_rows(scope, week.start, week.end, NOW)]
    queries += [(q, BACKLOG) for q in _backlog_rows(scope, week.end, NOW)]
    in_database, in_python = _slices(), _slices()
    for queryset, measures in queries:
        _rollup_grouped(queryset, measures, into=in_database)
        _rollup_grouped_python(queryset, measures, in_python)
    assert _plain(in_database) == _plain(in_python)
    assert {k for k in in_database["vendor"]} == {k for k in in_python["vendor"]}
    assert in_python["all"][None]["created"] and in_python["all"][None]["backlog"]


@pytest.mark.parametrize("filters", [{}, {"vendor": "optit"}])
def test_the_clock_queries_read_only_the_clocks_they_count(dataset, filters):
    """Each group the met and breached queries return counts something: a clock met late or one met in time that
    fell due in the week is not read by them (nor joined to its request) only to be counted by neither."""
    scope = _scope(dataset.world.pm, vendor=filters.get("vendor"), environment=None, priority=None, request_type=None)
    week = week_parse("2026-W47", tz="Asia/Kolkata")
    groups = 0
    for queryset, measures in _clock_rows(scope, week.start, week.end, NOW):
        for row in queryset:
            assert sum(row[m] for m in measures) > 0, row
            groups += 1
    assert groups
