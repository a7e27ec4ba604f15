"""The delivery metrics read production issues by filing time and deployments by resolution time, one request type
at a time: indexes led by the type, so a year's window reads those requests only, not every request filed or
resolved in it (PostgreSQL; built CONCURRENTLY, so a live requests table keeps taking writes meanwhile)."""

from django.db import migrations

from portal.migration_ops import ConcurrentIndexes

INDEXES = {
    "metrics_req_type_created": ("requests_app_servicerequest", "(request_type, created_at)"),
    "metrics_req_type_resolved": (
        "requests_app_servicerequest",
        "(request_type, resolved_at) WHERE resolved_at IS NOT NULL",
    ),
}


class Migration(migrations.Migration):
    atomic = False  # ConcurrentIndexes: CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("reports", "0007_state_span_backfill"),
    ]

    operations = [ConcurrentIndexes(INDEXES)]
