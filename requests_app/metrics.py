"""The request domain's figures on /metrics (imported by the kernel at start-up, see `portal.metrics`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from portal.metrics import metrics_register

from .models import ServiceRequest


def requests_open(now: datetime) -> Iterator[Metric]:
    """Open requests by state, priority and vendor."""
    gauge = GaugeMetricFamily("portico_requests_open", "Open requests", labels=["state", "priority", "vendor"])
    rows = ServiceRequest.objects.open().values("state", "priority", "vendor__slug").annotate(n=Count("pk"))
    for row in rows:
        gauge.add_metric([row["state"], row["priority"], row["vendor__slug"] or "unassigned"], row["n"])
    yield gauge


metrics_register("requests", requests_open)
