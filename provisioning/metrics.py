"""Provisioning figures on /metrics (imported by the kernel at start-up, see `portal.metrics`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count, DurationField, ExpressionWrapper, F, Sum
from prometheus_client.core import CounterMetricFamily, Metric, SummaryMetricFamily

from portal.metrics import metrics_register

from .models import ProvisioningRun


def provisioning_runs(now: datetime) -> Iterator[Metric]:
    """Runs by action and outcome, and how long the finished ones took."""
    runs = CounterMetricFamily("portico_provisioning_runs", "Provisioning runs by outcome", labels=["action", "status"])
    for row in ProvisioningRun.objects.values("action", "status").annotate(n=Count("pk")):
        runs.add_metric([row["action"], row["status"]], row["n"])
    yield runs
    duration = SummaryMetricFamily(
        "portico_provisioning_run_duration_seconds", "From start to finish of finished runs", labels=["action"]
    )
    took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    finished = ProvisioningRun.objects.filter(started_at__isnull=False, finished_at__isnull=False)
    for group in finished.values("action").annotate(n=Count("pk"), total=Sum(took)):
        duration.add_metric([group["action"]], count_value=group["n"], sum_value=group["total"].total_seconds())
    yield duration


metrics_register("provisioning", provisioning_runs)
