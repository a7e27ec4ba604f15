"""What the reports app stores: one row per weekly e-mail sent, so the Monday send happens once per week."""

from django.db import models
from django.utils import timezone


class WeeklyReportEmail(models.Model):
    """The weekly report e-mail for one ISO week, claimed and sent exactly once."""

    week = models.CharField(max_length=8, unique=True, help_text="ISO week, e.g. 2026-W47.")
    tz = models.CharField(max_length=64, help_text="The timezone the week was cut in.")
    recipients = models.JSONField(default=list)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week"]

    def __str__(self) -> str:
        return f"Weekly report {self.week} sent {self.sent_at:%Y-%m-%d %H:%M}"
