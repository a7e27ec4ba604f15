"""Jira's reaction to timeline events: mirror them to the environment's Jira project."""

from __future__ import annotations

from portal.events import registry

from .mirror import SYNC_KINDS, jira_sync_enqueue

registry.add("jira: mirror to the environment's project", jira_sync_enqueue, kinds=SYNC_KINDS)
