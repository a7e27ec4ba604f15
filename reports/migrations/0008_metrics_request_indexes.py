"""The delivery metrics read production issues by filing time and deployments by resolution time, one request type
at a time: indexes led by the type, so a year's window reads those requests only, not every request filed or
resolved in it (PostgreSQL; built CONCURRENTLY, so a live requests table keeps taking writes meanwhile)."""

from django.db import migrations

INDEXES = {
    "metrics_req_type_created": "(request_type, created_at)",
    "metrics_req_type_resolved": "(request_type, resolved_at) WHERE resolved_at IS NOT NULL",
}


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, shape in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON requests_app_servicerequest {shape}")


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("reports", "0007_state_span_backfill"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
