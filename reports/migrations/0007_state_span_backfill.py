"""Derive the state spans of the requests already there (`manage.py report_state_spans_backfill` does the same
later, e.g. after events written by processes still on the old code during the upgrade)."""

from django.db import migrations


def backfill(apps, schema_editor) -> None:
    # The live derivation itself, so a migrated database holds exactly what the event handler would have written;
    # it reads only the events' and requests' columns this migration's state has.
    from reports.spans import state_spans_backfill

    state_spans_backfill()


class Migration(migrations.Migration):
    # Batches commit one by one: a million requests are not derived under one long transaction.
    atomic = False

    dependencies = [
        ("reports", "0006_state_span"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
