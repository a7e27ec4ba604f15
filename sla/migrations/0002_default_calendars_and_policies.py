"""The calendars of the first environments and version 1 of each priority's policy (from DOMAIN.md)."""

from django.db import migrations


def create_defaults(apps, schema_editor):
    from sla.defaults import ensure_defaults

    ensure_defaults(
        apps.get_model("sla", "BusinessCalendar"),
        apps.get_model("sla", "WorkingHours"),
        apps.get_model("sla", "SlaPolicy"),
    )


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_calendars_policies_clocks")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
