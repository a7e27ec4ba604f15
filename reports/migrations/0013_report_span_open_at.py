"""A finished week's backlog is read as it was at the week's end, from the state spans that cover that instant
(`reports.selectors.queries._covering`): started by then, ended after it or still running. With no index on when a
span ends PostgreSQL read all ~5,500,000 spans of the 1,000,000-request benchmark for it (0.35 s a week). A partial
index holds the spans of the backlog's states by their end (a running span ends at FOREVER, as in
`reports.models`), carrying what the count reads.

PostgreSQL only; built CONCURRENTLY, so the spans keep taking writes meanwhile."""

from django.db import migrations

NAME = "report_span_open_at"
INDEX = (
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON reports_statespan "
    "(COALESCE(ended_at, '9999-12-31 00:00:00+00'::timestamptz)) INCLUDE (started_at, service_request_id, state) "
    "WHERE state IN ('submitted', 'pending_approval', 'queued', 'in_progress', 'waiting_on_requester', 'blocked', "
    "'resolved')"
)


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("reports", "0012_report_breach_extension_index"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
