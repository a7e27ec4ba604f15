"""Two reads of the weekly report that had no index (PostgreSQL only; built CONCURRENTLY, so the live tables keep
taking writes meanwhile). On the 1,000,000-request benchmark:

- the breach list marks each breach whose due time was extended: an EXISTS over the SLA ledger's `extend`
  entries, which are rare (none among its 6,766,535 entries); with no index on the kind, PostgreSQL read the
  whole ledger once per report (269 of the breach list's 311 ms). The extensions by request, clock and measure;
- a finished week's backlog is read as it was at the week's end, from the state spans covering that instant
  (`reports.selectors.queries._covering`: started by then, ended after it or still running); with no index on
  when a span ends PostgreSQL read all ~5,500,000 spans (0.35 s a week). The spans of the backlog's states by
  their end (a running span ends at FOREVER, as in `reports.models`), carrying what the count reads."""

from django.db import migrations

from portal.migration_ops import ConcurrentIndexes

INDEXES = {
    "report_ledger_extensions": (
        "sla_clockledgerentry",
        "(service_request_id, clock, measure) WHERE kind = 'extend'",
    ),
    "report_span_open_at": (
        "reports_statespan",
        "(COALESCE(ended_at, '9999-12-31 00:00:00+00'::timestamptz)) INCLUDE (started_at, service_request_id, state) "
        "WHERE state IN ('submitted', 'pending_approval', 'queued', 'in_progress', 'waiting_on_requester', "
        "'blocked', 'resolved')",
    ),
}


class Migration(migrations.Migration):
    atomic = False  # ConcurrentIndexes: CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("reports", "0011_metrics_run_clock_indexes"),
    ]

    operations = [ConcurrentIndexes(INDEXES)]
