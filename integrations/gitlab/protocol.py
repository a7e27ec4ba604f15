"""What Portico asks of GitLab: the methods the real adapter and its dry-run twin both provide."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from integrations.results import CheckResult

    from .adapter import GitLabMember, GitLabPipeline, GitLabProject


class GitLabPort(Protocol):
    """Projects in a group, time-boxed membership and triggered pipelines, each findable again after a retry."""

    def ensure_project(
        self,
        *,
        group: int | str,
        name: str,
        path: str | None = ...,
        template: str | int | None = ...,
        visibility: str = ...,
    ) -> GitLabProject: ...

    def find_user_id(self, username: str) -> int: ...

    def ensure_member(
        self,
        *,
        project_id: int | str,
        user: int | str,
        access_level: int | str,
        expires_at: date | str | None = ...,
    ) -> GitLabMember: ...

    def remove_member(self, *, project_id: int | str, user_id: int) -> GitLabMember: ...

    def trigger_pipeline(
        self,
        *,
        project_id: int | str,
        ref: str,
        trigger_token: str,
        variables: Mapping[str, str] | None = ...,
        run_id: str | None = ...,
    ) -> GitLabPipeline: ...

    def pipeline_status(self, *, project_id: int | str, pipeline_id: int) -> GitLabPipeline: ...

    def find_pipeline_by_run_id(
        self, *, project_id: int | str, run_id: str, limit: int = ...
    ) -> GitLabPipeline | None: ...

    def check(self) -> CheckResult: ...
