"""The delivery metrics aggregated by PostgreSQL (GROUPING SETS, `percentile_cont`, exact sums) equal the same
figures computed here from every row (the path SQLite takes), on random data: durations with microseconds, odd and
even group sizes (a median of two middle values), issues and deployments on both sides of the window's edges,
every kind of SLA clock outcome, runs that failed, succeeded, were dry runs or deploy nothing."""

from __future__ import annotations

import random
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
from requests_app.choices import LinkKind, Priority, RequestType
from requests_app.models import RequestLink
from requests_app.tests import factories as f
from sla.choices import Clock, Measure

from .conftest import S, ist, make_clock, make_request

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
