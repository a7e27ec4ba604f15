"""The weekly report groups clocks by the priority each ran or ended under (`sla.RequestClock.priority`), so the
clock indexes it counts from cover that column too (PostgreSQL INCLUDE; SQLite keeps the plain indexes)."""

from django.db import migrations

OLD = {
    "report_clock_met": "(clock, measure, breached, vendor_id, service_request_id)",
    "report_clock_due": "(clock, measure, breached, met_at, ended_at, paused_since, started_at, vendor_id, "
    "service_request_id)",
}
NEW = {
    "report_clock_met": "(clock, measure, breached, vendor_id, service_request_id, priority)",
    "report_clock_due": "(clock, measure, breached, met_at, ended_at, paused_since, started_at, vendor_id, "
    "service_request_id, priority)",
}
SHAPE = {"report_clock_met": ("(met_at)", "met_at IS NOT NULL"), "report_clock_due": ("(due_at)", "due_at IS NOT NULL")}


def _recreate(include: dict[str, str]):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, (columns, where) in SHAPE.items():
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
            schema_editor.execute(
                f"CREATE INDEX {name} ON sla_requestclock {columns} INCLUDE {include[name]} WHERE {where}"
            )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_report_indexes"),
        ("sla", "0007_clock_priority_at_end"),
    ]

    operations = [migrations.RunPython(_recreate(NEW), _recreate(OLD))]
