"""The Jira feature, both ways, over the Jira adapter in `integrations.jira`.

views.py (the webhook endpoint) -> inbound.py (store a delivery, then apply it in a task) -> intake.py (issues in
an intake project become requests); mirror.py (portal events -> the environment's Jira project, registered in
handlers.py); mapping.py (statuses, priorities and issue types, both directions); tasks.py (Celery entry points).
"""
