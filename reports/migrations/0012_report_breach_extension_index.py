"""The weekly report's breach list marks each breach whose due time was extended: an EXISTS over the SLA ledger's
`extend` entries. Extensions are rare (none among 6,766,535 ledger entries of the 1,000,000-request benchmark), and
with no index on the entry's kind PostgreSQL answered it by reading the whole ledger once per report: 269 of the
current week's 311 ms breach-list query. A partial index holds just the extensions, by request, clock and measure.

PostgreSQL only; built CONCURRENTLY, so the ledger keeps taking writes meanwhile."""

from django.db import migrations

NAME = "report_ledger_extensions"
INDEX = (
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON sla_clockledgerentry "
    "(service_request_id, clock, measure) WHERE kind = 'extend'"
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
        ("reports", "0011_metrics_run_clock_indexes"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
