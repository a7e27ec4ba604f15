"""Jira adapter over the `jira` library: the mirrored issue, its fields, status and comments."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from jira import JIRA, JIRAError

from integrations.config import JiraConfig
from integrations.errors import NETWORK_ERRORS, ErrorKind, IntegrationError, from_jira, integration_error
from integrations.results import CheckResult, Outcome

log = logging.getLogger(__name__)

REFERENCE_LABEL_PREFIX = "portico-"
T = TypeVar("T")


@dataclass(frozen=True)
class JiraIssue:
    """An issue Portico mirrors a request to."""

    key: str
    id: str
    url: str
    outcome: Outcome


@dataclass(frozen=True)
class JiraTransition:
    """The result of moving an issue to a status."""

    key: str
    status: str
    outcome: Outcome


@dataclass(frozen=True)
class JiraComment:
    """A comment Portico added."""

    key: str
    comment_id: str


def reference_label(reference: str) -> str:
    """The label that ties an issue to a portal reference; labels may not contain spaces."""
    return REFERENCE_LABEL_PREFIX + re.sub(r"[^A-Za-z0-9_.-]+", "-", reference)


def _jql_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class JiraAdapter:
    """Portico's only door to Jira."""

    system = "jira"

    def __init__(self, config: JiraConfig) -> None:
        self._config = config
        auth: dict[str, Any] = (
            {"basic_auth": (config.email, config.api_token)} if config.is_cloud else {"token_auth": config.pat}
        )
        # get_server_info=False: no HTTP in the constructor; max_retries=0: Celery owns retries.
        self._client = JIRA(server=config.url, timeout=config.timeout, max_retries=0, get_server_info=False, **auth)
        # Without serverInfo the library cannot tell Cloud from Data Center; the credentials tell us, and it
        # decides the search endpoint (Cloud retired /search for /search/jql).
        self._client.deploymentType = "Cloud" if config.is_cloud else "Server"

    def __repr__(self) -> str:
        return f"JiraAdapter(url={self._config.url!r}, project_key={self._config.project_key!r})"

    def _call(self, action: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one client call, mapping every failure to an IntegrationError."""
        log.info("jira: %s", action)
        try:
            return fn(*args, **kwargs)
        except (JIRAError, *NETWORK_ERRORS) as exc:
            raise from_jira(exc, action=action, secrets=self._config.secrets) from None

    def _browse(self, key: str) -> str:
        return f"{self._config.url.rstrip('/')}/browse/{key}"

    # ---- issues ------------------------------------------------------------------------------------------------
    def find_issue_by_reference(self, reference: str, *, project_key: str | None = None) -> JiraIssue | None:
        """The issue already carrying `reference`'s label, so a retried create does not make a second one."""
        project = project_key or self._config.project_key
        jql = f"project = {_jql_quote(project)} AND labels = {_jql_quote(reference_label(reference))}"
        action = f"searching {project} for {reference}"
        if self._config.is_cloud:
            found = self._call(
                action, self._client.enhanced_search_issues, jql, maxResults=1, fields=["labels"], json_result=True
            )
        else:
            found = self._call(action, self._client.search_issues, jql, maxResults=1, fields="labels", json_result=True)
        issues = (found or {}).get("issues") or []
        if not issues:
            return None
        issue = issues[0]
        return JiraIssue(issue["key"], str(issue["id"]), self._browse(issue["key"]), Outcome.UNCHANGED)

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
        """Create the mirrored issue; with a `reference`, find an earlier one first and label the new one."""
        project = project_key or self._config.project_key
        if reference:
            existing = self.find_issue_by_reference(reference, project_key=project)
            if existing is not None:
                return existing
        all_labels = list(labels) + ([reference_label(reference)] if reference else [])
        fields: dict[str, Any] = {
            "project": {"key": project},
            "issuetype": {"name": self._config.issue_type},  # a dict, so the library does no lookup GETs
            "summary": summary,
            "description": description,
            "labels": all_labels,
        }
        if priority_name:
            fields["priority"] = {"name": priority_name}
        issue = self._call(f"creating an issue in {project}", self._client.create_issue, fields=fields, prefetch=False)
        return JiraIssue(issue.key, str(issue.id), self._browse(issue.key), Outcome.CREATED)

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
        """Set the given fields; `assignee=""` unassigns. Portico's reference label always survives."""
        issue = self._call(f"reading {key}", self._client.issue, key, fields="labels")
        fields: dict[str, Any] = {}
        if summary is not None:
            fields["summary"] = summary
        if description is not None:
            fields["description"] = description
        if priority_name is not None:
            fields["priority"] = {"name": priority_name}
        if assignee is not None:
            user_key = "accountId" if self._config.is_cloud else "name"
            fields["assignee"] = {user_key: assignee} if assignee else None
        if labels is not None:
            ours = [lb for lb in (issue.raw["fields"].get("labels") or []) if lb.startswith(REFERENCE_LABEL_PREFIX)]
            fields["labels"] = list(dict.fromkeys([*labels, *ours]))
        if not fields:
            return JiraIssue(key, str(issue.id), self._browse(key), Outcome.UNCHANGED)
        self._call(f"updating {', '.join(sorted(fields))} of {key}", issue.update, fields=fields)
        return JiraIssue(key, str(issue.id), self._browse(key), Outcome.UPDATED)

    def transition_to(self, key: str, status_name: str) -> JiraTransition:
        """Move `key` to status `status_name` (or by transition name); already there is fine."""
        issue = self._call(f"reading the status of {key}", self._client.issue, key, fields="status")
        current = issue.raw["fields"]["status"]["name"]
        if current.lower() == status_name.lower():
            return JiraTransition(key, current, Outcome.UNCHANGED)
        transitions = self._call(f"listing transitions of {key}", self._client.transitions, key)
        wanted = status_name.lower()
        match = next((t for t in transitions if (t.get("to") or {}).get("name", "").lower() == wanted), None)
        match = match or next((t for t in transitions if t.get("name", "").lower() == wanted), None)
        if match is None:
            offered = ", ".join(sorted({(t.get("to") or {}).get("name", t.get("name", "?")) for t in transitions}))
            raise integration_error(
                "jira",
                ErrorKind.INVALID,
                action=f"moving {key} from {current!r} to {status_name!r}",
                detail=f"the workflow offers no such move; from {current!r} it allows: {offered or 'nothing'}",
            )
        self._call(f"moving {key} to {status_name!r}", self._client.transition_issue, key, str(match["id"]))
        return JiraTransition(key, (match.get("to") or {}).get("name", status_name), Outcome.UPDATED)

    def add_comment(self, key: str, body: str) -> JiraComment:
        """Add a comment to `key` as the integration user."""
        comment = self._call(f"commenting on {key}", self._client.add_comment, key, body)
        return JiraComment(key, str(comment.id))

    def link_issues(self, *, relation: str, inward_key: str, outward_key: str) -> str:
        """Link two issues: `inward_key` <relation> `outward_key`, e.g. "causes" or "relates to" (the outward
        description, or the name, of one of the server's issue link types); returns the link's id.

        Jira answers the POST with an empty body, so the id is read back from the inward issue's `issuelinks`;
        a link already there (a retry after the POST went through) is found first and not made twice."""
        types = self._call("reading the issue link types", self._client.issue_link_types)
        link_type = next((t for t in types if relation in (t.outward, t.name)), None)
        if link_type is None:
            raise integration_error(
                "jira",
                ErrorKind.INVALID,
                action=f"linking {inward_key} to {outward_key}",
                detail=f"the server has no issue link type {relation!r}",
            )
        existing = self._issue_link_id(inward_key, link_type.name, outward_key)
        if existing:
            return existing
        self._call(
            f"linking {inward_key} to {outward_key}",
            self._client.create_issue_link,
            link_type.name,
            inward_key,
            outward_key,
        )
        return self._issue_link_id(inward_key, link_type.name, outward_key)

    def _issue_link_id(self, inward_key: str, type_name: str, outward_key: str) -> str:
        issue = self._call(f"reading the links of {inward_key}", self._client.issue, inward_key, fields="issuelinks")
        for link in issue.raw["fields"].get("issuelinks") or []:
            if (link.get("type") or {}).get("name") == type_name and (
                (link.get("outwardIssue") or {}).get("key") == outward_key
            ):
                return str(link["id"])
        return ""

    def delete_issue_link(self, link_id: str) -> bool:
        """Remove the issue link `link_id`; False when Jira has no such link (already removed), so it is idempotent."""
        try:
            self._call(f"removing issue link {link_id}", self._client.delete_issue_link, link_id)
        except IntegrationError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def check(self) -> CheckResult:
        """Test connection: who the credentials belong to, and the server's version."""
        try:
            me = self._call("checking the credentials", self._client.myself)
            info = self._call("reading server information", self._client.server_info)
        except IntegrationError as exc:
            return CheckResult(self.system, False, exc.message)
        who = me.get("displayName") or me.get("name") or "?"
        version = info.get("version", "?")
        return CheckResult(
            self.system,
            True,
            f"Connected to Jira {version} ({info.get('deploymentType', 'unknown')}) at {self._config.url} as {who}.",
        )
