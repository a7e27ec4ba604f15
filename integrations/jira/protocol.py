"""What Portico asks of Jira: the methods the real adapter and its dry-run twin both provide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from integrations.results import CheckResult

    from .adapter import JiraComment, JiraIssue, JiraTransition


class JiraPort(Protocol):
    """The mirrored issue: found by its portal reference, created once, its fields, status and comments."""

    def find_issue_by_reference(self, reference: str, *, project_key: str | None = ...) -> JiraIssue | None: ...

    def create_issue(
        self,
        *,
        summary: str,
        description: str = ...,
        priority_name: str | None = ...,
        labels: Sequence[str] = ...,
        reference: str | None = ...,
        project_key: str | None = ...,
    ) -> JiraIssue: ...

    def update_fields(
        self,
        key: str,
        *,
        summary: str | None = ...,
        description: str | None = ...,
        priority_name: str | None = ...,
        assignee: str | None = ...,
        labels: Sequence[str] | None = ...,
    ) -> JiraIssue: ...

    def transition_to(self, key: str, status_name: str) -> JiraTransition: ...

    def add_comment(self, key: str, body: str) -> JiraComment: ...

    def link_issues(self, *, relation: str, inward_key: str, outward_key: str) -> str: ...

    def delete_issue_link(self, link_id: str) -> bool: ...

    def check(self) -> CheckResult: ...
