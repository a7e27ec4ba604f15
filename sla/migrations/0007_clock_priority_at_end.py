"""Each clock stores the priority of the policy it runs, or ended, under (the weekly report groups by it).

Existing clocks take their stored policy's priority. Before this release a priority change recomputed ended clocks
under the new policy too; `manage.py sla_replay --all --apply` rewrites them by the new rule from their ledgers."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

import requests_app.choices


def fill(apps, schema_editor):
    RequestClock = apps.get_model("sla", "RequestClock")
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    RequestClock.objects.filter(policy__isnull=False).update(
        priority=Subquery(SlaPolicy.objects.filter(pk=OuterRef("policy_id")).values("priority")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0006_calendar_day_reason_and_author"),
    ]

    operations = [
        migrations.AddField(
            model_name="requestclock",
            name="priority",
            field=models.CharField(
                blank=True,
                choices=requests_app.choices.Priority,
                help_text="The priority of the policy the clock runs under, or ended under: the weekly report's grouping.",
                max_length=2,
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
