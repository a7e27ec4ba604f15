"""Jira: the adapter over the `jira` client library, its dry-run twin and the Protocol both satisfy.

This package is `integrations.jira`; the client library is the top-level `jira`, which absolute imports (the only
kind Python 3 has) always reach. The stub server (`integrations.jira.stub`) is for tests and is not imported here.
The Jira *feature* (webhooks, intake, the mirror) is the `jira_bridge` app.
"""

from .adapter import JiraAdapter, JiraComment, JiraIssue, JiraTransition
from .dryrun import DryRunJiraAdapter
from .protocol import JiraPort

__all__ = ["DryRunJiraAdapter", "JiraAdapter", "JiraComment", "JiraIssue", "JiraPort", "JiraTransition"]
