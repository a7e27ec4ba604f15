"""GitLab adapter over python-gitlab: projects in a group, time-boxed membership, triggered pipelines."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import gitlab
from gitlab import exceptions as gle
from gitlab.const import AccessLevel

from integrations.config import GitLabConfig
from integrations.errors import NETWORK_ERRORS, ErrorKind, IntegrationError, from_gitlab, integration_error
from integrations.results import CheckResult, Outcome

log = logging.getLogger(__name__)

RUN_ID_VARIABLE = "PORTICO_RUN_ID"
FINISHED = frozenset({"success", "failed", "canceled", "skipped"})
T = TypeVar("T")


@dataclass(frozen=True)
class GitLabProject:
    """A project Portico ensured."""

    id: int
    path_with_namespace: str
    web_url: str
    outcome: Outcome


@dataclass(frozen=True)
class GitLabMember:
    """A direct project membership Portico ensured or removed."""

    project_id: int
    user_id: int
    access_level: int | None
    expires_at: str | None
    outcome: Outcome


@dataclass(frozen=True)
class GitLabPipeline:
    """A pipeline and where it is up to."""

    project_id: int
    id: int
    status: str
    ref: str
    web_url: str

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def succeeded(self) -> bool:
        return self.status == "success"


def access_level_value(level: int | str) -> int:
    """Accept 30 or "developer" (any case); GitLab only speaks numbers."""
    if isinstance(level, int):
        return level
    try:
        return int(AccessLevel[level.strip().upper()])
    except KeyError:
        raise integration_error("gitlab", ErrorKind.INVALID, action=f"reading access level {level!r}") from None


def project_path(name: str) -> str:
    """The URL path GitLab would derive from a project name."""
    return re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-.")


def _date(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


class GitLabAdapter:
    """Portico's only door to GitLab."""

    system = "gitlab"

    def __init__(self, config: GitLabConfig) -> None:
        self._config = config
        # retry_transient_errors stays off: Celery owns retries, with backoff and a budget.
        self._gl = gitlab.Gitlab(
            config.url, private_token=config.token, timeout=config.timeout, retry_transient_errors=False
        )

    def __repr__(self) -> str:
        return f"GitLabAdapter(url={self._config.url!r})"

    def _call(self, action: str, fn: Callable[..., T], *args: Any, secrets: tuple[str, ...] = (), **kwargs: Any) -> T:
        """Run one client call, mapping every failure to an IntegrationError."""
        log.info("gitlab: %s", action)
        try:
            return fn(*args, **kwargs)
        except (gle.GitlabError, *NETWORK_ERRORS) as exc:
            raise from_gitlab(exc, action=action, secrets=self._config.secrets + secrets) from None

    def _project(self, project_id: int | str) -> Any:
        return self._gl.projects.get(project_id, lazy=True)  # lazy: no HTTP request

    # ---- projects ----------------------------------------------------------------------------------------------
    def ensure_project(
        self,
        *,
        group: int | str,
        name: str,
        path: str | None = None,
        template: str | int | None = None,
        visibility: str = "private",
    ) -> GitLabProject:
        """Create project `name` in `group` (id or full path) unless it exists; a built-in template by name, a
        custom one by project id."""
        found = self._call(f"finding group {group!r}", self._gl.groups.get, group)
        path = path or project_path(name)
        full_path = f"{found.full_path}/{path}"
        existing = self._find_project(full_path)
        if existing is not None:
            return self._project_result(existing, Outcome.UNCHANGED)
        data: dict[str, Any] = {"name": name, "path": path, "namespace_id": found.id, "visibility": visibility}
        if isinstance(template, int):
            data.update(
                use_custom_template=True, template_project_id=template, group_with_project_templates_id=found.id
            )
        elif template:
            data["template_name"] = template
        try:
            created = self._call(f"creating project {full_path!r}", self._gl.projects.create, data)
        except IntegrationError as exc:
            # Another worker (or our own timed-out attempt) got there first: adopt it.
            existing = self._find_project(full_path) if exc.kind is ErrorKind.INVALID else None
            if existing is None:
                raise
            return self._project_result(existing, Outcome.UNCHANGED)
        return self._project_result(created, Outcome.CREATED)

    def _find_project(self, full_path: str) -> Any | None:
        try:
            return self._call(f"looking for project {full_path!r}", self._gl.projects.get, full_path)
        except IntegrationError as exc:
            if exc.kind is ErrorKind.NOT_FOUND:
                return None
            raise

    @staticmethod
    def _project_result(project: Any, outcome: Outcome) -> GitLabProject:
        return GitLabProject(project.id, project.path_with_namespace, project.web_url, outcome)

    # ---- members -----------------------------------------------------------------------------------------------
    def find_user_id(self, username: str) -> int:
        """The numeric id for `username`; NOT_FOUND when there is no such user."""
        users = self._call(f"finding user {username!r}", self._gl.users.list, username=username, get_all=False)
        for user in users:
            if user.username == username:
                return int(user.id)
        raise integration_error("gitlab", ErrorKind.NOT_FOUND, action=f"finding user {username!r}")

    def ensure_member(
        self,
        *,
        project_id: int | str,
        user: int | str,
        access_level: int | str,
        expires_at: date | str | None = None,
    ) -> GitLabMember:
        """Give `user` (id or username) `access_level` on the project until `expires_at`; update if it differs."""
        user_id = user if isinstance(user, int) else self.find_user_id(user)
        level = access_level_value(access_level)
        expires = _date(expires_at)
        project = self._project(project_id)
        where = f"user {user_id} in project {project_id}"
        current = self._find_member(project, user_id, where)
        if current is None:
            data = {"user_id": user_id, "access_level": level, "expires_at": expires}
            try:
                self._call(f"adding {where}", project.members.create, data)
                return GitLabMember(int(project_id), user_id, level, expires, Outcome.CREATED)
            except IntegrationError as exc:
                if exc.kind is not ErrorKind.CONFLICT:
                    raise
                current = self._find_member(project, user_id, where)
                if current is None:
                    raise
        if current.access_level == level and current.expires_at == expires:
            return GitLabMember(int(project_id), user_id, level, expires, Outcome.UNCHANGED)
        current.access_level = level
        current.expires_at = expires
        self._call(f"updating {where}", current.save)
        return GitLabMember(int(project_id), user_id, level, expires, Outcome.UPDATED)

    def _find_member(self, project: Any, user_id: int, where: str) -> Any | None:
        try:
            return self._call(f"reading {where}", project.members.get, user_id)
        except IntegrationError as exc:
            if exc.kind is ErrorKind.NOT_FOUND:
                return None
            raise

    def remove_member(self, *, project_id: int | str, user_id: int) -> GitLabMember:
        """Remove a direct member; one already gone counts as done."""
        try:
            self._call(
                f"removing user {user_id} from project {project_id}", self._project(project_id).members.delete, user_id
            )
            outcome = Outcome.DELETED
        except IntegrationError as exc:
            if exc.kind is not ErrorKind.NOT_FOUND:
                raise
            outcome = Outcome.ABSENT
        return GitLabMember(int(project_id), user_id, None, None, outcome)

    # ---- pipelines ---------------------------------------------------------------------------------------------
    def trigger_pipeline(
        self,
        *,
        project_id: int | str,
        ref: str,
        trigger_token: str,
        variables: Mapping[str, str] | None = None,
        run_id: str | None = None,
    ) -> GitLabPipeline:
        """Start a pipeline on `ref` with `variables`; `run_id` rides along so a retry can find it again."""
        all_variables = {k: str(v) for k, v in (variables or {}).items()}
        if run_id:
            all_variables[RUN_ID_VARIABLE] = run_id
        pipeline = self._call(
            f"triggering a pipeline on {ref!r} in project {project_id}",
            self._project(project_id).trigger_pipeline,
            ref,
            trigger_token,
            variables=all_variables,
            secrets=(trigger_token,),
        )
        return self._pipeline_result(project_id, pipeline)

    def pipeline_status(self, *, project_id: int | str, pipeline_id: int) -> GitLabPipeline:
        """Where pipeline `pipeline_id` is up to."""
        pipeline = self._call(
            f"reading pipeline {pipeline_id} of project {project_id}",
            self._project(project_id).pipelines.get,
            pipeline_id,
        )
        return self._pipeline_result(project_id, pipeline)

    def find_pipeline_by_run_id(self, *, project_id: int | str, run_id: str, limit: int = 20) -> GitLabPipeline | None:
        """The recent triggered pipeline carrying `PORTICO_RUN_ID=run_id`, so a redelivered task does not start
        a second one."""
        project = self._project(project_id)
        pipelines = self._call(
            f"listing pipelines of project {project_id}",
            project.pipelines.list,
            source="trigger",
            per_page=limit,
            get_all=False,
        )
        for pipeline in pipelines:
            variables = self._call(
                f"reading variables of pipeline {pipeline.id}", pipeline.variables.list, get_all=False
            )
            if any(v.key == RUN_ID_VARIABLE and v.value == run_id for v in variables):
                return self._pipeline_result(project_id, pipeline)
        return None

    @staticmethod
    def _pipeline_result(project_id: int | str, pipeline: Any) -> GitLabPipeline:
        return GitLabPipeline(int(project_id), int(pipeline.id), pipeline.status, pipeline.ref, pipeline.web_url)

    def check(self) -> CheckResult:
        """Test connection: authenticate and name the account the token belongs to."""
        try:
            self._call("checking the token", self._gl.auth)
        except IntegrationError as exc:
            return CheckResult(self.system, False, exc.message)
        username = self._gl.user.username if self._gl.user else "?"
        return CheckResult(self.system, True, f"Connected to GitLab at {self._config.url} as @{username}.")
