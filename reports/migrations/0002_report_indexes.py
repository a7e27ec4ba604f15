"""Indexes the weekly report reads through, on tables other apps own (requests_app, sla).

They live here so the report's performance needs stay with the report and the owning apps' model state is
untouched. On PostgreSQL the clock indexes cover the columns the report counts (INCLUDE), so a week's or eight
weeks' clocks are counted from the index alone; SQLite (the embedded default) gets the plain indexes."""

from django.db import migrations

INDEXES = [
    # The week's flows: each timestamp's range, OR-ed into one bitmap scan.
    ("report_req_triaged", "requests_app_servicerequest", "(triaged_at)", "", "triaged_at IS NOT NULL"),
    ("report_req_responded", "requests_app_servicerequest", "(responded_at)", "", "responded_at IS NOT NULL"),
    ("report_req_resolved", "requests_app_servicerequest", "(resolved_at)", "", "resolved_at IS NOT NULL"),
    # The backlog at an instant: closed_at IS NULL OR closed_at > T.
    ("report_req_closed", "requests_app_servicerequest", "(closed_at)", "", ""),
    # Clocks met, or falling due, in a week.
    (
        "report_clock_met",
        "sla_requestclock",
        "(met_at)",
        "(clock, measure, breached, vendor_id, service_request_id)",
        "met_at IS NOT NULL",
    ),
    (
        "report_clock_due",
        "sla_requestclock",
        "(due_at)",
        "(clock, measure, breached, met_at, ended_at, paused_since, started_at, vendor_id, service_request_id)",
        "due_at IS NOT NULL",
    ),
    # The request's four dimensions, read from the index when clocks are grouped by them (PostgreSQL only: on
    # SQLite it would only duplicate the primary key).
    (
        "report_req_dims",
        "requests_app_servicerequest",
        "(id)",
        "(vendor_id, environment_id, priority, request_type)",
        "",
    ),
    # Reopen events in a week.
    ("report_event_kind_time", "requests_app_requestevent", "(kind, created_at)", "", ""),
]

POSTGRES_ONLY = {"report_req_dims"}


def create(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, table, columns, include, where in INDEXES:
        if name in POSTGRES_ONLY and not postgres:
            continue
        sql = f"CREATE INDEX IF NOT EXISTS {name} ON {table} {columns}"
        if include and postgres:
            sql += f" INCLUDE {include}"
        if where:
            sql += f" WHERE {where}"
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    for name, *_ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_weekly_report_email"),
        ("requests_app", "0003_sla_recomputed_event"),
        ("sla", "0002_default_calendars_and_policies"),
    ]

    operations = [migrations.RunPython(create, drop)]
