"""The delivery metrics aggregated by PostgreSQL (GROUPING SETS, `percentile_cont`, exact sums) equal the same
figures computed here from every row (the path SQLite takes), on random data: durations with microseconds, odd and
even group sizes (a median of two middle values), issues and deployments on both sides of the window's edges,
every kind of SLA clock outcome, runs that failed, succeeded, were dry runs or deploy nothing; and the time in
each state read from the per request × state totals the spans carry equal to the spans summed."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import asdict
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from provisioning.choices import RunStatus
from provisioning.models import ProvisioningRun
from reports import metrics as metrics_module
from reports.aggregates import percentile_linear
from reports.metrics import Duration, delivery_metrics
from reports.models import FOREVER, StateSpan
from reports.spans import state_spans_backfill
from requests_app.choices import LinkKind, Priority, RequestType
from requests_app.models import RequestLink
from requests_app.tests import factories as f
from sla.choices import Clock, Measure

from .conftest import S, ist, make_clock, make_request
from .test_state_spans import START as LIFE_START
from .test_state_spans import live_life_cycles

pytestmark = pytest.mark.django_db
NOW = ist(29, 18)
START = ist(1, month=8)  # the data runs from 1 Aug to 29 Nov 2026 (IST)
SPAN = (NOW - START).total_seconds()
WINDOWS = [
    ("2026-11-16", "2026-11-29"),
    ("2026-09-01", "2026-11-29"),
    ("2025-11-29", "2026-11-29"),
    ("2026-11-23", "2026-11-23"),
]


def instant(rng: random.Random):
    return START + timedelta(seconds=rng.uniform(0, SPAN), microseconds=rng.randrange(1_000_000))


def later(rng: random.Random, after, hours: float):
    return after + timedelta(seconds=rng.uniform(0, hours * 3600), microseconds=rng.randrange(1_000_000))


def build_random(world, seed: int, issues: int, changes: int) -> None:
    rng = random.Random(seed)
    bihar = f.EnvironmentFactory(code="bihar", name="Bihar")
    vendors, environments = [world.vendor_a, world.vendor_b, None], [world.environment, bihar]
    made = []
    for n in range(issues):
        created = instant(rng)
        detected = created - timedelta(seconds=rng.uniform(0, 7200)) if rng.random() < 0.5 else None
        responded = later(rng, created, 30) if rng.random() < 0.8 else None
        resolved = later(rng, responded, 80) if responded and rng.random() < 0.7 else None
        request = make_request(
            world, f"I{n}", vendor=rng.choice(vendors), environment=rng.choice(environments),
            request_type=RequestType.PRODUCTION_ISSUE, priority=rng.choice(Priority.values),
            state=S.RESOLVED if resolved else S.IN_PROGRESS, created_at=created, responded_at=responded,
            resolved_at=resolved, detected_at=detected,
        )  # fmt: skip
        for measure, done in ((Measure.RESPONSE, responded), (Measure.RESOLUTION, resolved)):
            outcome = rng.choice(["met", "late", "running", "none"])
            if outcome == "none":
                continue
            fields = {"due_at": later(rng, created, 40)}
            if outcome in ("met", "late") and done:
                fields |= {"met_at": done, "breached": outcome == "late"}
            else:
                fields["running_since"] = created
            make_clock(request, Clock.SLA, measure, **fields)
        made.append(request)
    for n in range(changes):
        created = instant(rng)
        resolved = later(rng, created, 60) if rng.random() < 0.7 else None
        request = make_request(
            world, f"C{n}", vendor=rng.choice(vendors), environment=rng.choice(environments),
            request_type=rng.choice([RequestType.RELEASE, RequestType.DEPLOYMENT_SUPPORT]), priority=Priority.P2,
            state=S.RESOLVED if resolved else S.IN_PROGRESS, created_at=created, resolved_at=resolved,
        )  # fmt: skip
        for _ in range(rng.randrange(4)):
            finished = later(rng, created, 50)
            ProvisioningRun.objects.create(
                service_request=request, action=rng.choice(["jenkins_job", "gitlab_pipeline", "namespace_with_quota"]),
                status=rng.choice([RunStatus.SUCCEEDED, RunStatus.SUCCEEDED, RunStatus.FAILED]), created_at=created,
                started_at=created, finished_at=finished, dry_run=rng.random() < 0.15,
            )  # fmt: skip
        if made and rng.random() < 0.3:
            RequestLink.objects.create(source=request, target=rng.choice(made), kind=rng.choice(list(LinkKind.values)))


def figures(user, date_from, date_to, *, in_sql: bool, monkeypatch) -> dict:
    monkeypatch.setattr(metrics_module, "_in_sql", lambda: in_sql)
    with CaptureQueriesContext(connection) as queries:
        result = asdict(delivery_metrics(user=user, date_from=date_from, date_to=date_to, now=NOW))
    grouped = sum("GROUPING SETS" in query["sql"] for query in queries.captured_queries)
    assert grouped == (2 if in_sql else 0)  # the path asked for is the one taken
    return result


@pytest.mark.parametrize(("seed", "issues", "changes"), [(1, 40, 30), (2, 61, 45), (3, 7, 4)])
def test_sql_aggregates_equal_the_row_by_row_figures(world, monkeypatch, seed, issues, changes):
    build_random(world, seed, issues, changes)

    for user in (world.pm, world.vendor_lead):
        for date_from, date_to in WINDOWS:
            in_sql = figures(user, date_from, date_to, in_sql=True, monkeypatch=monkeypatch)
            rows = figures(user, date_from, date_to, in_sql=False, monkeypatch=monkeypatch)
            assert in_sql == rows, (user.username, date_from, date_to)
    assert connection.vendor == "postgresql"  # else both sides were the rows' path


@pytest.mark.parametrize("hours", [[1, 2, 4, 7], [1, 2, 4], [5.5, 0.25]])
def test_the_sql_median_of_an_even_count_is_the_mean_of_the_middle_two(world, monkeypatch, hours):
    for n, value in enumerate(hours):
        created = ist(20, n)
        make_request(
            world, f"I{n}", request_type=RequestType.PRODUCTION_ISSUE, priority=Priority.P1, state=S.IN_PROGRESS,
            created_at=created, responded_at=created + timedelta(hours=value),
        )  # fmt: skip
    seconds = [value * 3600 for value in hours]
    expected = Duration(
        round(sum(seconds) / len(seconds) / 3600, 1), round(percentile_linear(seconds, 0.5) / 3600, 1), len(hours)
    )

    assert figures(world.pm, "2026-11-16", "2026-11-29", in_sql=True, monkeypatch=monkeypatch)["mtta"] == asdict(
        expected
    )


# --- time in each state: stored per request × state totals ------------------------------------------------------
def spans_with_totals() -> list[tuple]:
    return sorted(
        StateSpan.objects.values_list(
            "service_request_id", "state", "started_at", "ended_at", "state_until", "state_seconds"
        ),
        key=lambda span: (span[0], span[1], span[2], span[3] or FOREVER),
    )


@pytest.mark.parametrize("seed", [8, 9])
def test_the_first_span_of_a_request_in_a_state_carries_their_end_and_total(world, seed):
    live_life_cycles(world, seed, count=10)
    groups: defaultdict[tuple[int, str], list[tuple]] = defaultdict(list)
    for span in spans_with_totals():
        groups[(span[0], span[1])].append(span)

    for key, spans in groups.items():
        carriers = [span for span in spans if span[4] is not None]
        assert len(carriers) == 1, key
        assert carriers[0][2] == min(span[2] for span in spans)
        assert carriers[0][4] == max(span[3] or FOREVER for span in spans)
        closed = all(span[3] is not None for span in spans)
        total = sum((span[3] - span[2] for span in spans), timedelta()).total_seconds() if closed else None
        assert carriers[0][5] == total, key
        assert all(span[5] is None for span in spans if span is not carriers[0])
    assert any(len(spans) > 1 for spans in groups.values())  # a state entered twice (a reopen or a block)
    live = spans_with_totals()
    StateSpan.objects.all().delete()
    state_spans_backfill(batch=4)
    assert spans_with_totals() == live  # the backfill writes the same totals


@pytest.mark.parametrize("seed", [10, 11])
def test_state_times_from_the_stored_totals_equal_the_summed_spans(world, monkeypatch, seed):
    end = live_life_cycles(world, seed, count=12)
    windows = [("2026-11-01", "2026-11-30"), ("2026-11-04", "2026-11-06"), ("2026-11-07", "2026-11-21")]

    for date_from, date_to in windows:
        for now in (end, LIFE_START + (end - LIFE_START) / 2):
            monkeypatch.setattr(metrics_module, "_in_sql", lambda: True)
            in_sql = delivery_metrics(user=world.pm, date_from=date_from, date_to=date_to, now=now).load
            monkeypatch.setattr(metrics_module, "_in_sql", lambda: False)
            rows = delivery_metrics(user=world.pm, date_from=date_from, date_to=date_to, now=now).load
            assert in_sql == rows, (date_from, date_to, now)
    assert any(row.in_progress.requests for row in rows)
