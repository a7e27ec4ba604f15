"""Names the Jira app shares with the outside world."""

# Celery task names. The tasks lived in `integrations.tasks` before this app existed; they keep those names so
# messages already queued (in the broker, or waiting in the outbox) still reach them.
SYNC_TASK = "integrations.tasks.jira_sync_event"
PROCESS_TASK = "integrations.tasks.jira_delivery_process"
