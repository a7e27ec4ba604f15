"""The Celery app; periodic work is scheduled here and only here."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.base")

app = Celery("portal")
# With Django fixups loaded, DjangoTask (with delay_on_commit) becomes the default task class.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "requests-auto-close": {
        "task": "requests_app.tasks.requests_auto_close",
        "schedule": crontab(minute="*/15"),
    },
}
