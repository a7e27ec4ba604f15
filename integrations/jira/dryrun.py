"""The Jira dry-run twin: records what JiraAdapter would send instead of sending it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from integrations.dryrun import DRY_RUN_HOST, DryRunAdapter, DryRunRecorder, fake_id
from integrations.errors import ErrorKind, integration_error
from integrations.jira.adapter import JiraComment, JiraIssue, JiraTransition, reference_label
from integrations.results import Outcome


class DryRunJiraAdapter(DryRunAdapter):
    """Records what JiraAdapter would send (Cloud's search endpoint)."""

    system = "jira"

    def __init__(self, recorder: DryRunRecorder | None = None, project_key: str = "PORTICO") -> None:
        super().__init__(recorder)
        self.project_key = project_key
        self.issues: dict[str, dict[str, Any]] = {}

    def _url(self, key: str) -> str:
        return f"https://jira.{DRY_RUN_HOST}/browse/{key}"

    def find_issue_by_reference(self, reference: str, *, project_key: str | None = None) -> JiraIssue | None:
        """Record searching for the issue labelled with `reference`."""
        project = project_key or self.project_key
        label = reference_label(reference)
        jql = f'project = "{project}" AND labels = "{label}"'
        self._record(
            "find_issue_by_reference", f"Search {project} for {reference}", "GET", "/rest/api/2/search/jql", jql=jql
        )
        for key, issue in self.issues.items():
            if label in issue["labels"]:
                return JiraIssue(key, issue["id"], self._url(key), Outcome.UNCHANGED)
        return None

    def create_issue(
        self,
        *,
        summary: str,
        description: str = "",
        priority_name: str | None = None,
        labels: Sequence[str] = (),
        reference: str | None = None,
        project_key: str | None = None,
    ) -> JiraIssue:
        """Record creating the mirrored issue."""
        project = project_key or self.project_key
        if reference:
            existing = self.find_issue_by_reference(reference, project_key=project)
            if existing:
                return existing
        all_labels = list(labels) + ([reference_label(reference)] if reference else [])
        self._record(
            "create_issue",
            f"Create an issue in {project}: {summary!r}",
            "POST",
            "/rest/api/2/issue",
            summary=summary,
            priority=priority_name,
            labels=all_labels,
        )
        key = f"{project}-{len(self.issues) + 1}"
        self.issues[key] = {"id": str(10000 + len(self.issues) + 1), "labels": all_labels, "status": "To Do"}
        return JiraIssue(key, self.issues[key]["id"], self._url(key), Outcome.CREATED)

    def update_fields(
        self,
        key: str,
        *,
        summary: str | None = None,
        description: str | None = None,
        priority_name: str | None = None,
        assignee: str | None = None,
        labels: Sequence[str] | None = None,
    ) -> JiraIssue:
        """Record setting fields on `key`."""
        changes = {
            k: v
            for k, v in {
                "summary": summary,
                "description": description,
                "priority": priority_name,
                "assignee": assignee,
                "labels": list(labels) if labels is not None else None,
            }.items()
            if v is not None
        }
        self._record("update_fields", f"Read {key}", "GET", f"/rest/api/2/issue/{key}")
        issue_id = self.issues.get(key, {}).get("id", key)
        if not changes:
            return JiraIssue(key, issue_id, self._url(key), Outcome.UNCHANGED)
        self._record(
            "update_fields",
            f"Update {', '.join(sorted(changes))} of {key}",
            "PUT",
            f"/rest/api/2/issue/{key}",
            **changes,
        )
        return JiraIssue(key, issue_id, self._url(key), Outcome.UPDATED)

    def transition_to(self, key: str, status_name: str) -> JiraTransition:
        """Record moving `key` to `status_name` (the dry run cannot know the workflow, so any move is allowed)."""
        self._record("transition_to", f"Read the status of {key}", "GET", f"/rest/api/2/issue/{key}")
        issue = self.issues.setdefault(key, {"id": key, "labels": [], "status": "To Do"})
        if issue["status"].lower() == status_name.lower():
            return JiraTransition(key, issue["status"], Outcome.UNCHANGED)
        self._record("transition_to", f"List the transitions of {key}", "GET", f"/rest/api/2/issue/{key}/transitions")
        self._record(
            "transition_to",
            f"Move {key} to {status_name!r}",
            "POST",
            f"/rest/api/2/issue/{key}/transitions",
            status=status_name,
        )
        issue["status"] = status_name
        return JiraTransition(key, status_name, Outcome.UPDATED)

    def link_issues(self, *, relation: str, inward_key: str, outward_key: str) -> str:
        """Record linking two issues; the id is made up from the pair."""
        body = {"type": {"name": relation}, "inwardIssue": {"key": inward_key}, "outwardIssue": {"key": outward_key}}
        self._record(
            "link_issues", f"Link {inward_key} {relation} {outward_key}", "POST", "/rest/api/2/issueLink", body=body
        )
        return str(fake_id(f"{inward_key}:{relation}:{outward_key}"))

    def delete_issue_link(self, link_id: str) -> bool:
        """Record removing an issue link."""
        self._record("delete_issue_link", f"Unlink {link_id}", "DELETE", f"/rest/api/2/issueLink/{link_id}")
        return True

    def add_comment(self, key: str, body: str) -> JiraComment:
        """Record adding a comment."""
        if not body:
            raise integration_error("jira", ErrorKind.INVALID, action=f"commenting on {key}", detail="empty comment")
        self._record("add_comment", f"Comment on {key}", "POST", f"/rest/api/2/issue/{key}/comment", body=body)
        return JiraComment(key, str(fake_id(f"{key}:{len(self.calls)}")))
