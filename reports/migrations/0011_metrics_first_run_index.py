"""The delivery metrics look up each deployment candidate's first successful run (`reports.metrics._changes_query`):
an index of the successful, real runs by request and finish time, carrying the action, answers each lookup from
the index alone and in order (before: every run of the request fetched from the heap and sorted).

PostgreSQL only; built CONCURRENTLY, so the live table keeps taking writes meanwhile."""

from django.db import migrations

INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS metrics_run_first_success ON provisioning_provisioningrun "
    "(service_request_id, finished_at, id) INCLUDE (action) "
    "WHERE status = 'succeeded' AND NOT dry_run AND finished_at IS NOT NULL"
)


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS metrics_run_first_success")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("reports", "0010_state_span_totals"),
        ("provisioning", "0003_break_glass_grants"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
