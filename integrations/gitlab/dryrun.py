"""The GitLab dry-run twin: records what GitLabAdapter would send instead of sending it."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import date
from urllib.parse import quote

from integrations.dryrun import DRY_RUN_HOST, DryRunAdapter, DryRunRecorder, fake_id
from integrations.gitlab.adapter import RUN_ID_VARIABLE, GitLabMember, GitLabPipeline, GitLabProject, access_level_value
from integrations.gitlab.adapter import project_path as gitlab_project_path
from integrations.results import Outcome


class DryRunGitLabAdapter(DryRunAdapter):
    """Records what GitLabAdapter would send."""

    system = "gitlab"

    def __init__(self, recorder: DryRunRecorder | None = None) -> None:
        super().__init__(recorder)
        self.projects: dict[str, int] = {}
        self.members: dict[tuple[int, int], tuple[int, str | None]] = {}
        self.pipelines: dict[int, GitLabPipeline] = {}
        self.pipeline_run_ids: dict[int, str] = {}
        self._pipeline_ids = itertools.count(5001)

    def ensure_project(
        self,
        *,
        group: int | str,
        name: str,
        path: str | None = None,
        template: str | int | None = None,
        visibility: str = "private",
    ) -> GitLabProject:
        """Record creating project `name` in `group`."""
        group_path = str(group)
        self._record(
            "ensure_project", f"Find group {group_path!r}", "GET", f"/api/v4/groups/{quote(group_path, safe='')}"
        )
        full_path = f"{group_path}/{path or gitlab_project_path(name)}"
        self._record(
            "ensure_project",
            f"Look for an existing project {full_path!r}",
            "GET",
            f"/api/v4/projects/{quote(full_path, safe='')}",
        )
        url = f"https://gitlab.{DRY_RUN_HOST}/{full_path}"
        if full_path in self.projects:
            return GitLabProject(self.projects[full_path], full_path, url, Outcome.UNCHANGED)
        self._record(
            "ensure_project",
            f"Create project {name!r} in {group_path!r}" + (f" from template {template!r}" if template else ""),
            "POST",
            "/api/v4/projects",
            name=name,
            path=full_path.rsplit("/", 1)[-1],
            template=template,
            visibility=visibility,
        )
        self.projects[full_path] = fake_id(full_path)
        return GitLabProject(self.projects[full_path], full_path, url, Outcome.CREATED)

    def find_user_id(self, username: str) -> int:
        """Record looking up a user; the id is made up."""
        self._record("find_user_id", f"Find user {username!r}", "GET", "/api/v4/users", username=username)
        return fake_id(username)

    def ensure_member(
        self,
        *,
        project_id: int | str,
        user: int | str,
        access_level: int | str,
        expires_at: date | str | None = None,
    ) -> GitLabMember:
        """Record giving `user` access to the project until `expires_at`."""
        user_id = user if isinstance(user, int) else self.find_user_id(user)
        level = access_level_value(access_level)
        expires = expires_at.isoformat() if isinstance(expires_at, date) else expires_at
        base = f"/api/v4/projects/{project_id}/members"
        self._record("ensure_member", f"Read membership of user {user_id}", "GET", f"{base}/{user_id}")
        key = (int(project_id), user_id)
        current = self.members.get(key)
        if current is None:
            self._record(
                "ensure_member",
                f"Add user {user_id} with access level {level} until {expires or 'no expiry'}",
                "POST",
                base,
                user_id=user_id,
                access_level=level,
                expires_at=expires,
            )
            outcome = Outcome.CREATED
        elif current == (level, expires):
            outcome = Outcome.UNCHANGED
        else:
            self._record(
                "ensure_member",
                f"Change user {user_id} to access level {level} until {expires or 'no expiry'}",
                "PUT",
                f"{base}/{user_id}",
                access_level=level,
                expires_at=expires,
            )
            outcome = Outcome.UPDATED
        self.members[key] = (level, expires)
        return GitLabMember(int(project_id), user_id, level, expires, outcome)

    def remove_member(self, *, project_id: int | str, user_id: int) -> GitLabMember:
        """Record removing a member."""
        path = f"/api/v4/projects/{project_id}/members/{user_id}"
        self._record("remove_member", f"Remove user {user_id} from project {project_id}", "DELETE", path)
        gone = self.members.pop((int(project_id), user_id), None) is None
        return GitLabMember(int(project_id), user_id, None, None, Outcome.ABSENT if gone else Outcome.DELETED)

    def trigger_pipeline(
        self,
        *,
        project_id: int | str,
        ref: str,
        trigger_token: str,
        variables: Mapping[str, str] | None = None,
        run_id: str | None = None,
    ) -> GitLabPipeline:
        """Record triggering a pipeline (the trigger token is left out of the record)."""
        all_variables = {k: str(v) for k, v in (variables or {}).items()}
        if run_id:
            all_variables[RUN_ID_VARIABLE] = run_id
        self._record(
            "trigger_pipeline",
            f"Trigger a pipeline on {ref!r} in project {project_id}",
            "POST",
            f"/api/v4/projects/{project_id}/trigger/pipeline",
            ref=ref,
            variables=all_variables,
        )
        pipeline_id = next(self._pipeline_ids)
        url = f"https://gitlab.{DRY_RUN_HOST}/projects/{project_id}/-/pipelines/{pipeline_id}"
        pipeline = GitLabPipeline(int(project_id), pipeline_id, "created", ref, url)
        self.pipelines[pipeline_id] = pipeline
        if run_id:
            self.pipeline_run_ids[pipeline_id] = run_id
        return pipeline

    def pipeline_status(self, *, project_id: int | str, pipeline_id: int) -> GitLabPipeline:
        """Record a status poll; a dry-run pipeline has always succeeded."""
        path = f"/api/v4/projects/{project_id}/pipelines/{pipeline_id}"
        self._record("pipeline_status", f"Read pipeline {pipeline_id}", "GET", path)
        known = self.pipelines.get(pipeline_id)
        ref = known.ref if known else "main"
        url = f"https://gitlab.{DRY_RUN_HOST}/projects/{project_id}/-/pipelines/{pipeline_id}"
        return GitLabPipeline(int(project_id), pipeline_id, "success", ref, url)

    def find_pipeline_by_run_id(self, *, project_id: int | str, run_id: str, limit: int = 20) -> GitLabPipeline | None:
        """Record looking for an earlier pipeline of this run."""
        self._record(
            "find_pipeline_by_run_id",
            f"Look for a recent pipeline carrying {RUN_ID_VARIABLE}={run_id}",
            "GET",
            f"/api/v4/projects/{project_id}/pipelines",
            source="trigger",
            per_page=limit,
        )
        for pipeline_id, known in self.pipeline_run_ids.items():
            if known == run_id:
                return self.pipelines[pipeline_id]
        return None
