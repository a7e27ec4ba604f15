"""Dry-run twins: the adapters' interface, recording step by step what would have been sent instead of sending it.

An environment without a connection uses these, so a fresh machine can demo the whole flow. Each step names
the adapter method, says what it does in plain words, and gives the HTTP method and path the real adapter
calls (the tests hold the two to the same paths) with parameters minus secrets. State is kept in memory so a
repeated ensure_* answers "unchanged" like the real thing.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal
from urllib.parse import quote

from integrations.errors import SYSTEM_NAMES, ErrorKind, integration_error
from integrations.gitlab import RUN_ID_VARIABLE, GitLabMember, GitLabPipeline, GitLabProject, access_level_value
from integrations.gitlab import project_path as gitlab_project_path
from integrations.jenkins import RUN_ID_PARAMETER, JenkinsBuild, JenkinsQueueItem, JenkinsRunRef, job_path
from integrations.jira import JiraComment, JiraIssue, JiraTransition, reference_label
from integrations.kubernetes import (
    DENY_POLICY_NAME,
    LIMIT_RANGE_NAME,
    MANAGED_BY,
    QUOTA_NAME,
    KubernetesResource,
)
from integrations.results import CheckResult, Outcome

DRY_RUN_HOST = "dry-run.invalid"  # .invalid never resolves, so a dry-run link cannot be mistaken for a real one
RBAC = "/apis/rbac.authorization.k8s.io/v1"
NETWORKING = "/apis/networking.k8s.io/v1"


@dataclass(frozen=True)
class RecordedCall:
    """One step a dry-run twin took instead of calling the system."""

    system: str
    method: str
    description: str
    http_method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DryRunRecorder:
    """Collects recorded steps; share one between twins to get a single ordered story."""

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []

    def as_steps(self) -> list[dict[str, Any]]:
        """JSON-friendly steps, for a provisioning run's output."""
        return [call.as_dict() for call in self.calls]


class _DryRun:
    system = ""

    def __init__(self, recorder: DryRunRecorder | None = None) -> None:
        self.recorder = recorder or DryRunRecorder()

    @property
    def calls(self) -> list[RecordedCall]:
        return self.recorder.calls

    def _record(self, method: str, description: str, http_method: str, path: str, /, **params: Any) -> None:
        self.recorder.calls.append(RecordedCall(self.system, method, description, http_method, path, params))

    def check(self) -> CheckResult:
        """Test connection: nothing to connect to; say so plainly."""
        name = SYSTEM_NAMES[self.system]
        return CheckResult(
            self.system,
            True,
            f"Dry run: no {name} connection is configured, so calls are recorded step by step and not sent.",
            dry_run=True,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(steps={len(self.calls)})"


class DryRunKubernetesAdapter(_DryRun):
    """Records what KubernetesAdapter would send."""

    system = "kubernetes"

    def __init__(self, recorder: DryRunRecorder | None = None) -> None:
        super().__init__(recorder)
        self.objects: dict[tuple[str, str | None, str], Any] = {}

    def _ensure(
        self, method: str, *, kind: str, name: str, namespace: str | None, collection: str, update: str, want: Any
    ) -> KubernetesResource:
        where = f" in namespace {namespace!r}" if namespace else ""
        self._record(method, f"Create {kind} {name!r}{where}", "POST", collection, name=name, spec=want)
        key = (kind, namespace, name)
        if key not in self.objects:
            outcome = Outcome.CREATED
        else:
            self._record(method, f"It exists: read {kind} {name!r}{where}", "GET", f"{collection}/{name}", name=name)
            if self.objects[key] == want:
                outcome = Outcome.UNCHANGED
            else:
                self._record(method, f"Update {kind} {name!r}{where}", update, f"{collection}/{name}", spec=want)
                outcome = Outcome.UPDATED
        self.objects[key] = want
        return KubernetesResource(kind=kind, name=name, namespace=namespace, outcome=outcome)

    def ensure_namespace(self, *, name: str, labels: Mapping[str, str]) -> KubernetesResource:
        """Record creating namespace `name` with `labels`."""
        return self._ensure(
            "ensure_namespace",
            kind="Namespace",
            name=name,
            namespace=None,
            collection="/api/v1/namespaces",
            update="PATCH",
            want={"labels": {**MANAGED_BY, **labels}},
        )

    def ensure_resource_quota(
        self, *, namespace: str, hard: Mapping[str, str], name: str = QUOTA_NAME
    ) -> KubernetesResource:
        """Record setting the namespace's ResourceQuota."""
        return self._ensure(
            "ensure_resource_quota",
            kind="ResourceQuota",
            name=name,
            namespace=namespace,
            collection=f"/api/v1/namespaces/{namespace}/resourcequotas",
            update="PUT",
            want={"hard": dict(hard)},
        )

    def ensure_limit_range(
        self,
        *,
        namespace: str,
        default: Mapping[str, str],
        default_request: Mapping[str, str],
        name: str = LIMIT_RANGE_NAME,
    ) -> KubernetesResource:
        """Record setting per-container defaults for the namespace."""
        return self._ensure(
            "ensure_limit_range",
            kind="LimitRange",
            name=name,
            namespace=namespace,
            collection=f"/api/v1/namespaces/{namespace}/limitranges",
            update="PUT",
            want={"type": "Container", "default": dict(default), "defaultRequest": dict(default_request)},
        )

    def ensure_default_deny_network_policy(
        self, *, namespace: str, policy_types: Sequence[str] = ("Ingress",), name: str = DENY_POLICY_NAME
    ) -> KubernetesResource:
        """Record the default-deny NetworkPolicy."""
        return self._ensure(
            "ensure_default_deny_network_policy",
            kind="NetworkPolicy",
            name=name,
            namespace=namespace,
            collection=f"{NETWORKING}/namespaces/{namespace}/networkpolicies",
            update="PUT",
            want={"podSelector": {}, "policyTypes": sorted(policy_types)},
        )

    def ensure_role_binding(
        self,
        *,
        namespace: str,
        name: str,
        cluster_role: str,
        subject: str,
        subject_kind: Literal["Group", "User"] = "Group",
    ) -> KubernetesResource:
        """Record binding `cluster_role` to a group or user in `namespace`."""
        return self._ensure(
            "ensure_role_binding",
            kind="RoleBinding",
            name=name,
            namespace=namespace,
            collection=f"{RBAC}/namespaces/{namespace}/rolebindings",
            update="PUT",
            want={"roleRef": cluster_role, "subjects": [{"kind": subject_kind, "name": subject}]},
        )

    def delete_role_binding(self, *, namespace: str, name: str) -> KubernetesResource:
        """Record removing a RoleBinding."""
        path = f"{RBAC}/namespaces/{namespace}/rolebindings/{name}"
        self._record("delete_role_binding", f"Delete RoleBinding {name!r} in namespace {namespace!r}", "DELETE", path)
        gone = self.objects.pop(("RoleBinding", namespace, name), None) is None
        outcome = Outcome.ABSENT if gone else Outcome.DELETED
        return KubernetesResource(kind="RoleBinding", name=name, namespace=namespace, outcome=outcome)


def _fake_id(text: str) -> int:
    """A stable made-up id, so the same name gives the same id across runs."""
    return 1000 + zlib.crc32(text.encode()) % 900_000


class DryRunGitLabAdapter(_DryRun):
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
        self.projects[full_path] = _fake_id(full_path)
        return GitLabProject(self.projects[full_path], full_path, url, Outcome.CREATED)

    def find_user_id(self, username: str) -> int:
        """Record looking up a user; the id is made up."""
        self._record("find_user_id", f"Find user {username!r}", "GET", "/api/v4/users", username=username)
        return _fake_id(username)

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


class DryRunJenkinsAdapter(_DryRun):
    """Records what JenkinsAdapter would send."""

    system = "jenkins"

    def __init__(self, recorder: DryRunRecorder | None = None) -> None:
        super().__init__(recorder)
        self.queue: dict[int, tuple[str, dict[str, str]]] = {}
        self._queue_ids = itertools.count(101)
        self.builds: dict[int, int] = {}  # queue id -> build number

    def trigger_build(
        self,
        *,
        job: str,
        parameters: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        token: str | None = None,
    ) -> int:
        """Record queueing a build (any trigger token is left out of the record)."""
        params = {k: str(v) for k, v in (parameters or {}).items()}
        if run_id:
            params[RUN_ID_PARAMETER] = run_id
        endpoint = "buildWithParameters" if params else "build"
        self._record(
            "trigger_build", f"Queue a build of job {job!r}", "POST", f"/{job_path(job)}/{endpoint}", parameters=params
        )
        queue_id = next(self._queue_ids)
        self.queue[queue_id] = (job, params)
        return queue_id

    def queue_status(self, queue_id: int) -> JenkinsQueueItem:
        """Record a queue poll; a dry-run item has always started."""
        self._record("queue_status", f"Read queue item {queue_id}", "GET", f"/queue/item/{queue_id}/api/json")
        job = self.queue.get(queue_id, ("job", {}))[0]
        number = self.builds.setdefault(queue_id, len(self.builds) + 1)
        url = f"https://jenkins.{DRY_RUN_HOST}/{job_path(job)}/{number}/"
        return JenkinsQueueItem(queue_id, "started", None, number, url)

    def build_status(self, *, job: str, number: int) -> JenkinsBuild:
        """Record a build poll; a dry-run build has always succeeded."""
        self._record(
            "build_status", f"Read build {number} of job {job!r}", "GET", f"/{job_path(job)}/{number}/api/json"
        )
        url = f"https://jenkins.{DRY_RUN_HOST}/{job_path(job)}/{number}/"
        return JenkinsBuild(job, number, "SUCCESS", url, f"{url}console")

    def find_build_by_run_id(self, *, job: str, run_id: str, limit: int = 20) -> JenkinsRunRef | None:
        """Record looking for an earlier build of this run: the queue first, then recent builds."""
        mine = [
            q
            for q, (queued_job, params) in self.queue.items()
            if queued_job == job and params.get(RUN_ID_PARAMETER) == run_id
        ]
        self._record("find_build_by_run_id", "Look in the build queue", "GET", "/queue/api/json")
        waiting = [q for q in mine if q not in self.builds]
        if waiting:
            return JenkinsRunRef(job, waiting[0], None, None)
        self._record(
            "find_build_by_run_id", f"Look at recent builds of job {job!r}", "GET", f"/{job_path(job)}/api/json"
        )
        started = [q for q in mine if q in self.builds]
        if started:
            number = self.builds[started[0]]
            return JenkinsRunRef(job, started[0], number, f"https://jenkins.{DRY_RUN_HOST}/{job_path(job)}/{number}/")
        return None


class DryRunJiraAdapter(_DryRun):
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

    def add_comment(self, key: str, body: str) -> JiraComment:
        """Record adding a comment."""
        if not body:
            raise integration_error("jira", ErrorKind.INVALID, action=f"commenting on {key}", detail="empty comment")
        self._record("add_comment", f"Comment on {key}", "POST", f"/rest/api/2/issue/{key}/comment", body=body)
        return JiraComment(key, str(_fake_id(f"{key}:{len(self.calls)}")))
