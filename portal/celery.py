"""The Celery app; periodic work is scheduled here and only here."""

import os

from celery import Celery
from celery.schedules import crontab

from portal.observability import connect_celery_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.base")

app = Celery("portal")
# With Django fixups loaded, DjangoTask (with delay_on_commit) becomes the default task class.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
connect_celery_signals()  # request ids into tasks, task outcome counters: in web and worker processes alike


app.conf.beat_schedule = {
    "worker-heartbeat": {
        "task": "portal.tasks.worker_heartbeat",
        "schedule": 60.0,
    },
    "outbox-dispatch": {
        "task": "portal.tasks.outbox_dispatch",
        "schedule": 30.0,
    },
    "sla-scan": {
        "task": "sla.tasks.sla_scan",
        "schedule": 60.0,
    },
    "requests-auto-close": {
        "task": "requests_app.tasks.requests_auto_close",
        "schedule": crontab(minute="*/15"),
    },
    # Just-in-time access never outlives its expiry by more than this interval.
    "access-grants-revoke-expired": {
        "task": "provisioning.tasks.access_grants_revoke_expired",
        "schedule": 60.0,
    },
    # A run whose worker died (its lease lapsed, PORTICO_PROVISIONING_LEASE_SECONDS) resumes within this interval.
    "provisioning-runs-resume-stuck": {
        "task": "provisioning.tasks.provisioning_runs_resume_stuck",
        "schedule": 30.0,
    },
    # Jira deliveries still unprocessed after PORTICO_JIRA_DELIVERY_GRACE_SECONDS are sent again, then failed.
    "jira-deliveries-sweep": {
        "task": "jira_bridge.tasks.jira_deliveries_sweep",
        "schedule": 60.0,
    },
    # Slack/Teams posts whose backoff or Retry-After is over.
    "conversations-chat-retry": {
        "task": "conversations.tasks.conversations_chat_retry",
        "schedule": 30.0,
    },
    # E-mails and chat posts still owed PORTICO_DELIVERY_SWEEP_AFTER_SECONDS after they were due: queued again.
    "conversations-deliveries-sweep": {
        "task": "conversations.tasks.conversations_deliveries_sweep",
        "schedule": 60.0,
    },
    # SLA flags raised while catching up (first scan, after downtime): one summary per person.
    "conversations-send-summaries": {
        "task": "conversations.tasks.conversations_send_summaries",
        "schedule": 60.0,
    },
    # The daily digest for those who chose it, at 08:00 in CELERY_TIMEZONE.
    "conversations-send-digests": {
        "task": "conversations.tasks.conversations_send_digests",
        "schedule": crontab(minute=0, hour=8),
    },
    # Unacknowledged pages go to the next level; SMS the gateway refused for now is sent again.
    "incidents-pages-escalate": {
        "task": "incidents.tasks.pages_escalate",
        "schedule": 60.0,
    },
    # The week that just closed is stored within ten minutes of midnight; a week a late change restaled, as soon.
    "reports-weeks-refresh": {
        "task": "reports.tasks.report_weeks_refresh",
        "schedule": crontab(minute="*/10"),
    },
    # Monday 09:00 in CELERY_TIMEZONE, which follows TIME_ZONE; reports.W001 warns if the report timezone differs.
    "reports-weekly-email": {
        "task": "reports.tasks.report_weekly_email",
        "schedule": crontab(minute=0, hour=9, day_of_week="mon"),
    },
}
