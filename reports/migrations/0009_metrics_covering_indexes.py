"""Covering indexes for the delivery metrics' two largest reads, so PostgreSQL answers them from the index alone
(index-only scans) instead of fetching a year's rows from the heap one by one:

- the working state spans overlapping the window (`_state_times`): the window's end as `state_span_work_end` has it,
  carrying every column the sums and the scope's vendor read;
- the pick-up and resolve events of the window (`_load`), with their actor and request (a vendor lead's scope joins
  the request).

PostgreSQL only; built CONCURRENTLY, so the live tables keep taking writes meanwhile."""

from django.db import migrations

from portal.migration_ops import ConcurrentIndexes

INDEXES = {
    "metrics_span_work_cover": (
        "reports_statespan",
        "(COALESCE(ended_at, '9999-12-31 00:00:00+00'::timestamptz)) "
        "INCLUDE (started_at, ended_at, state, assignee_id, vendor_id, service_request_id) "
        "WHERE state IN ('in_progress', 'waiting_on_requester', 'blocked')",
    ),
    "metrics_event_pickup_resolve": (
        "requests_app_requestevent",
        "(created_at) INCLUDE (kind, actor_id, service_request_id) WHERE kind IN ('pick_up', 'resolve')",
    ),
}


class Migration(migrations.Migration):
    atomic = False  # ConcurrentIndexes: CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("reports", "0008_metrics_request_indexes"),
    ]

    operations = [ConcurrentIndexes(INDEXES)]
