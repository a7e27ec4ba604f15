"""What each step key does, over the adapters. Every step is safe to run again: ensure_* are create-or-update,
and builds and pipelines are looked up by the run's key before anything new is triggered.

Steps never touch the database; they return a `StepResult` that the run service saves in its own transaction.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.utils.dateparse import parse_datetime

from integrations.connections import adapter_for, connection_for
from integrations.dryrun import DryRunRecorder
from integrations.errors import ErrorKind, IntegrationError

from .constants import (
    GITLAB_TRIGGER_TOKEN_SUFFIX,
    LABEL_ENVIRONMENT,
    LABEL_REFERENCE,
    LABEL_TEAM,
    LIMIT_RANGE_DEFAULT,
    LIMIT_RANGE_DEFAULT_REQUEST,
    TEAM_CLUSTER_ROLE,
)

if TYPE_CHECKING:
    from .models import ProvisioningRun

TEAM_BINDING_NAME = "portico-team"


class StepFailed(Exception):
    """The system answered, and the answer is a failure (a red build, a cancelled queue item)."""

    def __init__(self, message: str, result: StepResult | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = result


@dataclass
class GrantRecord:
    """Access a step gave, for the run service to store as an AccessGrant."""

    system: str
    subject: str
    target: str
    level: str
    expires_at: datetime
    subject_id: str = ""
    binding_name: str = ""


@dataclass
class StepResult:
    """What a step did: text for people, JSON for machines, and ids/links that go onto the run."""

    text: str = ""
    output: dict[str, Any] = field(default_factory=dict)
    external_id: str = ""
    link: str = ""
    skipped: bool = False
    poll_after: int | None = None  # not finished yet: look again in this many seconds
    run_external_ids: dict[str, Any] = field(default_factory=dict)
    run_links: dict[str, str] = field(default_factory=dict)
    grant: GrantRecord | None = None


class StepContext:
    """The run a step belongs to, and adapters for its environment (real, or dry-run twins recording calls)."""

    def __init__(self, run: ProvisioningRun, *, poll_seconds: int) -> None:
        self.run = run
        self.service_request = run.service_request
        self.parameters = run.parameters
        self.poll_seconds = poll_seconds
        self.recorder = DryRunRecorder()
        self._adapters: dict[str, Any] = {}

    def adapter(self, system: str) -> Any:
        if system not in self._adapters:
            self._adapters[system] = adapter_for(self.service_request.environment, system, recorder=self.recorder)
        return self._adapters[system]

    def close(self) -> None:
        for adapter in self._adapters.values():
            close = getattr(adapter, "close", None)
            if close:
                close()
        self._adapters.clear()

    @property
    def expires_at(self) -> datetime:
        value = parse_datetime(self.parameters["expires_at"])
        if value is None:  # the run service always sets it; a broken snapshot must not grant open-ended access
            raise StepFailed("The run has no expiry time; access was not granted.")
        return value


# --- Kubernetes: namespace with quota ------------------------------------------------------------------------
def _resource(result: Any, what: str) -> StepResult:
    where = f" in {result.namespace}" if result.namespace else ""
    return StepResult(
        text=f"{what} {result.name}{where}: {result.outcome.value}.",
        output={"kind": result.kind, "name": result.name, "namespace": result.namespace, "outcome": result.outcome},
        external_id=f"{result.kind}/{result.name}",
    )


def namespace(ctx: StepContext) -> StepResult:
    sr = ctx.service_request
    labels = {LABEL_REFERENCE: sr.reference, LABEL_TEAM: sr.team.slug, LABEL_ENVIRONMENT: sr.environment.code}
    name = ctx.parameters["namespace"]
    result = _resource(ctx.adapter("kubernetes").ensure_namespace(name=name, labels=labels), "Namespace")
    result.run_external_ids = {"namespace": name}
    return result


def resource_quota(ctx: StepContext) -> StepResult:
    cpu, memory = ctx.parameters["cpu"], ctx.parameters["memory"]
    hard = {"requests.cpu": cpu, "limits.cpu": cpu, "requests.memory": memory, "limits.memory": memory}
    k8s = ctx.adapter("kubernetes")
    return _resource(k8s.ensure_resource_quota(namespace=ctx.parameters["namespace"], hard=hard), "ResourceQuota")


def limit_range(ctx: StepContext) -> StepResult:
    k8s = ctx.adapter("kubernetes")
    resource = k8s.ensure_limit_range(
        namespace=ctx.parameters["namespace"], default=LIMIT_RANGE_DEFAULT, default_request=LIMIT_RANGE_DEFAULT_REQUEST
    )
    return _resource(resource, "LimitRange")


def network_policy(ctx: StepContext) -> StepResult:
    k8s = ctx.adapter("kubernetes")
    return _resource(k8s.ensure_default_deny_network_policy(namespace=ctx.parameters["namespace"]), "NetworkPolicy")


def role_binding(ctx: StepContext) -> StepResult:
    group = ctx.parameters.get("team_group") or ""
    if not group:
        return StepResult(text="No team group was given, so no RoleBinding was made.", skipped=True)
    resource = ctx.adapter("kubernetes").ensure_role_binding(
        namespace=ctx.parameters["namespace"], name=TEAM_BINDING_NAME, cluster_role=TEAM_CLUSTER_ROLE, subject=group
    )
    return _resource(resource, "RoleBinding")


# --- just-in-time access -------------------------------------------------------------------------------------
def jit_binding_name(reference: str, username: str) -> str:
    """A stable RoleBinding name per request and user, so a re-run updates the same binding."""
    user = re.sub(r"[^a-z0-9-]+", "-", username.lower()).strip("-") or "user"
    return f"portico-jit-{reference.lower()}-{user}"[:253].rstrip("-")


def gitlab_member(ctx: StepContext) -> StepResult:
    p = ctx.parameters
    gitlab = ctx.adapter("gitlab")
    expires_at = ctx.expires_at
    user_id = gitlab.find_user_id(p["username"])
    # GitLab's own expiry is a date: the day after ours, so GitLab never cuts access before the promised time;
    # Portico's revoke scan removes it at the exact time.
    native = (expires_at + timedelta(days=1)).date()
    member = gitlab.ensure_member(
        project_id=p["gitlab_project"], user=user_id, access_level=p["access_level"], expires_at=native
    )
    return StepResult(
        text=f"{p['username']} is {p['access_level']} on GitLab project {p['gitlab_project']} "
        f"until {expires_at:%Y-%m-%d %H:%M} UTC ({member.outcome.value}).",
        output={"user_id": user_id, "access_level": member.access_level, "native_expires_at": member.expires_at},
        external_id=f"member/{p['gitlab_project']}/{user_id}",
        grant=GrantRecord(
            system="gitlab",
            subject=p["username"],
            subject_id=str(user_id),
            target=str(p["gitlab_project"]),
            level=p["access_level"],
            expires_at=expires_at,
        ),
    )


def kubernetes_role_binding(ctx: StepContext) -> StepResult:
    p = ctx.parameters
    reference = ctx.service_request.reference
    if reference is None:  # set when the request is filed, long before its automation can run
        raise ValueError(f"Request {ctx.service_request.pk} has no reference to name the RoleBinding after.")
    name = jit_binding_name(reference, p["username"])
    resource = ctx.adapter("kubernetes").ensure_role_binding(
        namespace=p["kubernetes_namespace"],
        name=name,
        cluster_role=p["cluster_role"],
        subject=p["username"],
        subject_kind="User",
    )
    result = _resource(resource, "RoleBinding")
    result.grant = GrantRecord(
        system="kubernetes",
        subject=p["username"],
        target=p["kubernetes_namespace"],
        level=p["cluster_role"],
        binding_name=name,
        expires_at=ctx.expires_at,
    )
    return result


# --- GitLab --------------------------------------------------------------------------------------------------
def _trigger_token(ctx: StepContext) -> str:
    connection = connection_for(ctx.service_request.environment, "gitlab")
    if connection is None:
        return "dry-run"  # the twin records the call and never sends a token
    variable = f"{connection.secret_env}{GITLAB_TRIGGER_TOKEN_SUFFIX}"
    token = os.environ.get(variable, "")
    if not token:
        raise IntegrationError(
            "gitlab",
            ErrorKind.INVALID,
            f"Environment variable {variable} (the GitLab pipeline trigger token) is not set.",
        )
    return token


def trigger_pipeline(ctx: StepContext) -> StepResult:
    p = ctx.parameters
    gitlab = ctx.adapter("gitlab")
    # A redelivered task must not start a second pipeline: look for ours (by PORTICO_RUN_ID) first.
    pipeline = gitlab.find_pipeline_by_run_id(project_id=p["project"], run_id=ctx.run.run_key)
    found = pipeline is not None
    if pipeline is None:
        pipeline = gitlab.trigger_pipeline(
            project_id=p["project"],
            ref=p.get("ref") or "main",
            trigger_token=_trigger_token(ctx),
            variables=p.get("variables") or {},
            run_id=ctx.run.run_key,
        )
    return StepResult(
        text=f"Pipeline {pipeline.id} on {pipeline.ref}: {'found (already triggered)' if found else 'triggered'}.",
        output={"pipeline_id": pipeline.id, "status": pipeline.status, "found_existing": found},
        external_id=str(pipeline.id),
        link=pipeline.web_url,
        run_external_ids={"pipeline_id": pipeline.id},
        run_links={"pipeline": pipeline.web_url},
    )


def follow_pipeline(ctx: StepContext) -> StepResult:
    p = ctx.parameters
    pipeline_id = ctx.run.external_ids["pipeline_id"]
    pipeline = ctx.adapter("gitlab").pipeline_status(project_id=p["project"], pipeline_id=pipeline_id)
    output = {"pipeline_id": pipeline.id, "status": pipeline.status}
    if not pipeline.finished:
        return StepResult(
            text=f"Pipeline {pipeline.id} is {pipeline.status}.", output=output, poll_after=ctx.poll_seconds
        )
    result = StepResult(output=output, external_id=str(pipeline.id), link=pipeline.web_url)
    if not pipeline.succeeded:
        raise StepFailed(f"GitLab pipeline {pipeline.id} finished {pipeline.status}.", result)
    result.text = f"Pipeline {pipeline.id} passed."
    return result


def gitlab_project(ctx: StepContext) -> StepResult:
    p = ctx.parameters
    project = ctx.adapter("gitlab").ensure_project(group=p["group"], name=p["name"], template=p.get("template") or None)
    return StepResult(
        text=f"Project {project.path_with_namespace}: {project.outcome.value}.",
        output={"project_id": project.id, "path": project.path_with_namespace, "outcome": project.outcome},
        external_id=str(project.id),
        link=project.web_url,
        run_external_ids={"project_id": project.id},
        run_links={"project": project.web_url},
    )


# --- Jenkins -------------------------------------------------------------------------------------------------
def trigger_build(ctx: StepContext) -> StepResult:
    p = ctx.parameters
    jenkins = ctx.adapter("jenkins")
    # A redelivered task must not queue a second build: look for ours (by PORTICO_RUN_ID) first.
    found = jenkins.find_build_by_run_id(job=p["job"], run_id=ctx.run.run_key)
    if found is not None:
        ids = {"jenkins_queue_id": found.queue_id, "jenkins_build_number": found.build_number}
        text = f"Build of {p['job']} found (already queued by this run)."
    else:
        queue_id = jenkins.trigger_build(job=p["job"], parameters=p.get("parameters") or {}, run_id=ctx.run.run_key)
        ids = {"jenkins_queue_id": queue_id, "jenkins_build_number": None}
        text = f"Build of {p['job']} queued (queue item {queue_id})."
    return StepResult(text=text, output=ids, external_id=f"queue/{ids['jenkins_queue_id']}", run_external_ids=ids)


def follow_build(ctx: StepContext) -> StepResult:
    p = ctx.parameters
    jenkins = ctx.adapter("jenkins")
    ids = dict(ctx.run.external_ids)
    number = ids.get("jenkins_build_number")
    if number is None:
        try:
            item = jenkins.queue_status(ids["jenkins_queue_id"])
        except IntegrationError as exc:
            if exc.kind is not ErrorKind.NOT_FOUND:
                raise
            # Jenkins forgets queue items soon after they start: find the build by our run key instead.
            ref = jenkins.find_build_by_run_id(job=p["job"], run_id=ctx.run.run_key)
            if ref is None or ref.build_number is None:
                raise StepFailed(f"Jenkins no longer knows queue item {ids['jenkins_queue_id']}.") from exc
            number = ref.build_number
        else:
            if item.state == "cancelled":
                raise StepFailed(f"The Jenkins queue item was cancelled ({item.why or 'no reason given'}).")
            if item.state == "waiting":
                return StepResult(
                    text=f"Waiting in the Jenkins queue: {item.why or 'queued'}.", poll_after=ctx.poll_seconds
                )
            number = item.build_number
    build = jenkins.build_status(job=p["job"], number=number)
    result = StepResult(
        output={"build_number": build.number, "status": build.status},
        external_id=f"{build.job}#{build.number}",
        link=build.console_url,
        run_external_ids={"jenkins_build_number": build.number},
        run_links={"build": build.url, "console": build.console_url},
    )
    if not build.finished:
        result.text = f"Build #{build.number} is running."
        result.poll_after = ctx.poll_seconds
        return result
    if not build.succeeded:
        raise StepFailed(f"Jenkins build #{build.number} of {build.job} finished {build.status}.", result)
    result.text = f"Build #{build.number} succeeded."
    return result


EXECUTORS: dict[str, Callable[[StepContext], StepResult]] = {
    "namespace": namespace,
    "resource_quota": resource_quota,
    "limit_range": limit_range,
    "network_policy": network_policy,
    "role_binding": role_binding,
    "gitlab_member": gitlab_member,
    "kubernetes_role_binding": kubernetes_role_binding,
    "trigger_pipeline": trigger_pipeline,
    "follow_pipeline": follow_pipeline,
    "gitlab_project": gitlab_project,
    "trigger_build": trigger_build,
    "follow_build": follow_build,
}
