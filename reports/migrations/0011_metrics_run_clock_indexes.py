"""What the delivery metrics read per deployment and per production issue, answered from indexes alone:

- each deployment candidate's first successful run (`reports.metrics._changes_query`): the successful, real runs
  by request and finish time, carrying the action, read in order (before: every run of the request fetched and
  sorted); and the candidates resolved in the range, Release and Deployment Support requests by resolution time
  with the columns read (before: every request resolved in the range read from the heap, most of other types);
- the production issues filed in the range (`_incidents_query`), by filing time with every column read (before:
  the planner read every request filed in the range, nine in ten of other types), and their SLA response and
  resolution clocks (two LEFT JOINs): the SLA clocks by request and measure, carrying every column their outcome
  reads.

PostgreSQL only; built CONCURRENTLY, so the live tables keep taking writes meanwhile."""

from django.db import migrations

from portal.migration_ops import ConcurrentIndexes

INDEXES = {
    "metrics_run_first_success": (
        "provisioning_provisioningrun",
        "(service_request_id, finished_at, id) INCLUDE (action) "
        "WHERE status = 'succeeded' AND NOT dry_run AND finished_at IS NOT NULL",
    ),
    "metrics_change_resolved": (
        "requests_app_servicerequest",
        "(resolved_at) INCLUDE (id, request_type, environment_id, created_at, vendor_id) "
        "WHERE request_type IN ('Release', 'DeploymentSupport') AND resolved_at IS NOT NULL",
    ),
    "metrics_issue_created": (
        "requests_app_servicerequest",
        "(created_at) INCLUDE (id, request_type, priority, vendor_id, environment_id, responded_at, resolved_at, "
        "detected_at) WHERE request_type = 'ProductionIssue'",
    ),
    "metrics_clock_sla": (
        "sla_requestclock",
        "(service_request_id, measure) INCLUDE (met_at, breached, ended_at, paused_since, started_at, due_at) "
        "WHERE clock = 'sla'",
    ),
}


class Migration(migrations.Migration):
    atomic = False  # ConcurrentIndexes: CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("reports", "0010_state_span_totals"),
        ("provisioning", "0003_break_glass_grants"),
        ("sla", "0008_pause_reasons_and_extensions"),
    ]

    operations = [ConcurrentIndexes(INDEXES)]
