"""SLA figures on /metrics (imported by the kernel at start-up, see `portal.metrics`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count, Q
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from portal.metrics import metrics_register
from portal.models import MetricCounter

from .models import RequestClock


def sla_clocks(now: datetime) -> Iterator[Metric]:
    """Running clocks at risk or breached at `now`, and how many breaches the scan has flagged."""
    gauge = GaugeMetricFamily(
        "portico_sla_clocks", "Running clocks at risk or breached now", labels=["clock", "status"]
    )
    counts = (
        RequestClock.objects.running()
        .values("clock")
        .annotate(
            breached=Count("pk", filter=Q(due_at__lte=now)),
            at_risk=Count("pk", filter=Q(at_risk_at__lte=now, due_at__gt=now)),
        )
    )
    for row in counts:
        gauge.add_metric([row["clock"], "breached"], row["breached"])
        gauge.add_metric([row["clock"], "at_risk"], row["at_risk"])
    yield gauge

    counter = MetricCounter.objects.filter(name="sla_breach_events").values_list("value", flat=True).first()
    yield CounterMetricFamily("portico_sla_breach_events", "Clocks flagged as breached by the scan", value=counter or 0)


metrics_register("sla", sla_clocks)
