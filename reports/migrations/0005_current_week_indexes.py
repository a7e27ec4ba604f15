"""Two more indexes the weekly report reads through (see 0002): the week's ratings and the requests still open.

Without the first, counting a week's ratings (CSAT) read the whole requests table (a parallel sequential scan,
0.3–0.4 s on 1,000,000 requests), twice for the current week. The second is the backlog "now": requests not closed,
rejected or cancelled, a few percent of all, counted from the index alone. Both cover the report's four dimensions
(PostgreSQL INCLUDE) and are built CONCURRENTLY there, so a large table keeps taking writes while they build;
SQLite (the embedded default) gets the plain partial indexes."""

from django.db import migrations

DIMENSIONS = "vendor_id, environment_id, priority, request_type"
INDEXES = [
    ("report_req_rated", "(rated_at)", f"(rating, {DIMENSIONS})", "rated_at IS NOT NULL AND rating IS NOT NULL"),
    ("report_req_unclosed", "(created_at)", f"(state, {DIMENSIONS})", "closed_at IS NULL"),
]


def create(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, columns, include, where in INDEXES:
        if postgres:
            sql = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON requests_app_servicerequest {columns} "
            sql += f"INCLUDE {include} WHERE {where}"
        else:
            sql = f"CREATE INDEX IF NOT EXISTS {name} ON requests_app_servicerequest {columns} WHERE {where}"
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    for name, *_ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("reports", "0004_stored_week"),
        ("requests_app", "0023_request_sla_breach_and_at_risk"),
    ]

    operations = [migrations.RunPython(create, drop)]
