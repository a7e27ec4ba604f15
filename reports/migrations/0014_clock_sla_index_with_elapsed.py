"""The SLA clocks by request and measure carry their working time too (`elapsed`), so the weekly report's
percentiles read each request's response and resolution clocks from the index alone.

The percentiles join every request picked up or resolved in the week to its two SLA clocks; `metrics_clock_sla`
(0011) lacked `elapsed`, so PostgreSQL looked each clock up by request id and read its row to check clock and
measure. On 1,000,000 requests, the current week's 22,859 requests: the join 88 → 49–53 ms, the percentile query
155–169 → 126–128 ms (bench/RESULTS.md, "Findings, 2026-12-06 (session 12)"). `report_clock_sla` replaces
`metrics_clock_sla` (same key and condition, one more column carried); the delivery metrics read it the same way.

PostgreSQL only; built and dropped CONCURRENTLY, so the live table keeps taking writes meanwhile."""

from django.db import migrations

from portal.migration_ops import ConcurrentIndexes, ConcurrentIndexesDropped

SLA_CLOCK = "(service_request_id, measure) INCLUDE (met_at, breached, ended_at, paused_since, started_at, due_at{})"


class Migration(migrations.Migration):
    atomic = False  # CREATE and DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("reports", "0013_stored_week_end_help_text"),
    ]

    operations = [
        ConcurrentIndexes(
            {"report_clock_sla": ("sla_requestclock", SLA_CLOCK.format(", elapsed") + " WHERE clock = 'sla'")}
        ),
        ConcurrentIndexesDropped(
            {"metrics_clock_sla": ("sla_requestclock", SLA_CLOCK.format("") + " WHERE clock = 'sla'")}
        ),
    ]
