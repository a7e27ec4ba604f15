"""A system check: the Monday e-mail is scheduled in Celery's timezone, which should be the report's."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register


@register()
def report_timezone_matches_celery(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    celery_tz = getattr(settings, "CELERY_TIMEZONE", settings.TIME_ZONE)
    if celery_tz == settings.PORTICO_REPORT_TIMEZONE:
        return []
    return [
        Warning(
            f"The weekly report e-mail runs Monday 09:00 in CELERY_TIMEZONE ({celery_tz}), "
            f"not in PORTICO_REPORT_TIMEZONE ({settings.PORTICO_REPORT_TIMEZONE}).",
            hint="Set TIME_ZONE (which CELERY_TIMEZONE follows) to the report timezone.",
            id="reports.W001",
        )
    ]
