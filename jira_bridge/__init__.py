"""The Jira feature, both ways, over the Jira adapter in `integrations.jira`.

views.py (the webhook endpoint) -> inbound.py (store a delivery, then apply it in a task: status, priority and
assignee through the request services) -> intake.py (issues in an intake project become requests); sweeper.py
(deliveries whose processing never finished are sent again, then failed visibly); mirror.py (portal events -> the
environment's Jira project, registered in handlers.py); mapping.py (statuses, priorities and issue types, both
directions); tasks.py (Celery entry points).
"""
