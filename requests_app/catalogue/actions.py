"""Automation actions: the parameters each takes (a schema) and the steps it plans. Which request type offers
which action is said by the type's catalogue entry (`types.py`); provisioning executes the planned steps.

Parameter schemas are small DRF serializers, so the filing form, the API and the run itself validate the same
way, with field errors named `parameters.<field>`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.utils import parse_quantity
from rest_framework import serializers

from portal.exceptions import ValidationFailed

JIT_MAX_HOURS = 720  # the longest just-in-time grant anyone may ask for: 30 days

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
JOB_NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
RESERVED_VARIABLES = {"PORTICO_RUN_ID"}  # Portico sets it to find its own build again; nobody may override it


# --- field types ---------------------------------------------------------------------------------------------
class DnsLabelField(serializers.CharField):
    """A Kubernetes namespace name: a DNS-1123 label."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 63)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value and not DNS_LABEL.match(value):
            raise serializers.ValidationError(
                "Use lower-case letters, digits and '-', starting and ending with a letter or digit (DNS-1123 label)."
            )
        return value


class QuantityField(serializers.CharField):
    """A Kubernetes quantity such as 4, 500m or 8Gi, greater than zero."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(str(data) if isinstance(data, int | float) else data)
        try:
            amount = parse_quantity(value)
        except ValueError:
            raise serializers.ValidationError("Not a Kubernetes quantity (e.g. 4, 500m, 8Gi).") from None
        if amount <= 0:
            raise serializers.ValidationError("Must be more than zero.")
        return value


class VariablesField(serializers.DictField):
    """Name → value pairs handed to a pipeline or job; names are identifiers, values strings."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.CharField(allow_blank=True, max_length=1000))
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", dict)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, Mapping):
            data = {key: str(value) if isinstance(value, int | float | bool) else value for key, value in data.items()}
        value = super().to_internal_value(data)
        for name in value:
            if not VARIABLE_NAME.match(name):
                raise serializers.ValidationError(f"“{name}” is not a valid variable name (letters, digits, _).")
            if name in RESERVED_VARIABLES:
                raise serializers.ValidationError(f"{name} is set by Portico itself.")
        return value


class Schema(serializers.Serializer):
    """A parameter schema: unknown names are refused rather than silently dropped."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        unknown = {}
        if isinstance(data, Mapping):
            unknown = {key: [f"Unknown parameter; this action takes: {', '.join(self.fields)}."] for key in data}
            unknown = {key: message for key, message in unknown.items() if key not in self.fields}
        value = super().to_internal_value(data)
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


# --- schemas -------------------------------------------------------------------------------------------------
class NamespaceWithQuotaSchema(Schema):
    namespace = DnsLabelField(help_text="Namespace name, e.g. mgramseva-uat.")
    cpu = QuantityField(label="CPU", max_length=16, help_text="CPU for the whole namespace, e.g. 4 or 2500m.")
    memory = QuantityField(max_length=16, help_text="Memory for the whole namespace, e.g. 8Gi.")
    team_group = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200, help_text="Group given 'edit' in the namespace."
    )


class JitAccessSchema(Schema):
    SYSTEMS = (("gitlab", "GitLab"), ("kubernetes", "Kubernetes"), ("both", "Both"))
    LEVELS = (("guest", "Guest"), ("reporter", "Reporter"), ("developer", "Developer"), ("maintainer", "Maintainer"))
    CLUSTER_ROLES = (("view", "View"), ("edit", "Edit"), ("admin", "Admin"))
    # Which fields apply to which system: forms show only those (and say so in the label without JavaScript).
    SHOWN_WHEN = {
        "gitlab_project": ("system", ("gitlab", "both")),
        "access_level": ("system", ("gitlab", "both")),
        "kubernetes_namespace": ("system", ("kubernetes", "both")),
        "cluster_role": ("system", ("kubernetes", "both")),
    }

    username = serializers.RegexField(
        r"^[A-Za-z0-9_.@-]+$", label="User name", max_length=100, help_text="GitLab username / Kubernetes user name."
    )
    system = serializers.ChoiceField(choices=SYSTEMS)
    gitlab_project = serializers.IntegerField(
        label="GitLab project", required=False, allow_null=True, min_value=1, help_text="Project id."
    )
    access_level = serializers.ChoiceField(
        label="GitLab access level", choices=LEVELS, default="developer", required=False
    )
    kubernetes_namespace = DnsLabelField(label="Kubernetes namespace", required=False, allow_blank=True, default="")
    cluster_role = serializers.ChoiceField(
        label="Kubernetes cluster role", choices=CLUSTER_ROLES, default="edit", required=False
    )
    duration_hours = serializers.IntegerField(min_value=1, max_value=JIT_MAX_HOURS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = {}
        if attrs["system"] in ("gitlab", "both") and not attrs.get("gitlab_project"):
            errors["gitlab_project"] = "Required for GitLab access: the project's numeric id."
        if attrs["system"] in ("kubernetes", "both") and not attrs.get("kubernetes_namespace"):
            errors["kubernetes_namespace"] = "Required for Kubernetes access."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class GitLabPipelineSchema(Schema):
    project = serializers.IntegerField(label="GitLab project", min_value=1, help_text="GitLab project id.")
    ref = serializers.CharField(max_length=255, default="main", required=False)
    variables = VariablesField()


class GitLabProjectSchema(Schema):
    group = serializers.CharField(max_length=255, help_text="Group id or full path, e.g. platform/punjab.")
    name = serializers.CharField(max_length=255)
    template = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class JenkinsJobSchema(Schema):
    job = serializers.RegexField(
        JOB_NAME, label="Jenkins job", max_length=255, help_text="Job name; folders as team/deploy."
    )
    parameters = VariablesField()


# --- actions -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepPlan:
    """One step an action will take; `retry_from` names the step a retry must redo (a new build, not the old)."""

    key: str
    title: str
    retry_from: str | None = None


@dataclass(frozen=True)
class Action:
    """One automation the portal can run for a request type."""

    name: str
    label: str
    schema: type[Schema]
    systems: Callable[[Mapping[str, Any]], tuple[str, ...]]
    plan: Callable[[Mapping[str, Any]], list[StepPlan]]
    summary: Callable[[Mapping[str, Any]], str]
    # A Jenkins job or GitLab pipeline that ships a change: its success is a deployment in the DORA keys
    # (reports/metrics.py). Creating a project or granting access ships nothing.
    deploys: bool = False


def _namespace_plan(p: Mapping[str, Any]) -> list[StepPlan]:
    ns = p["namespace"]
    group = p.get("team_group") or ""
    return [
        StepPlan("namespace", f"Namespace {ns} with Portico labels"),
        StepPlan("resource_quota", f"ResourceQuota: {p['cpu']} CPU, {p['memory']} memory"),
        StepPlan("limit_range", "LimitRange: per-container defaults"),
        StepPlan("network_policy", "Default-deny ingress NetworkPolicy"),
        StepPlan("role_binding", f"RoleBinding: {group} may edit" if group else "RoleBinding for the team's group"),
    ]


def _jit_plan(p: Mapping[str, Any]) -> list[StepPlan]:
    steps = []
    if p["system"] in ("gitlab", "both"):
        steps.append(StepPlan("gitlab_member", f"GitLab: {p['username']} as {p['access_level']} on project "
                              f"{p['gitlab_project']} for {p['duration_hours']} h"))  # fmt: skip
    if p["system"] in ("kubernetes", "both"):
        steps.append(StepPlan("kubernetes_role_binding", f"Kubernetes: {p['username']} as {p['cluster_role']} in "
                              f"{p['kubernetes_namespace']} for {p['duration_hours']} h"))  # fmt: skip
    return steps


def _jit_systems(p: Mapping[str, Any]) -> tuple[str, ...]:
    return ("gitlab", "kubernetes") if p["system"] == "both" else (p["system"],)


# The actions Portico ships; request types offer them through their catalogue entries (`types.py`).
BUILTIN_ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action(
            "namespace_with_quota",
            "Create namespace with quota",
            NamespaceWithQuotaSchema,
            lambda p: ("kubernetes",),
            _namespace_plan,
            lambda p: f"namespace {p['namespace']} is ready ({p['cpu']} CPU, {p['memory']} memory)",
        ),
        Action(
            "jit_access",
            "Grant just-in-time access",
            JitAccessSchema,
            _jit_systems,
            _jit_plan,
            lambda p: f"{p['username']} has access for {p['duration_hours']} h (revoked automatically)",
        ),
        Action(
            "gitlab_pipeline",
            "Run GitLab pipeline",
            GitLabPipelineSchema,
            lambda p: ("gitlab",),
            lambda p: [
                StepPlan(
                    "trigger_pipeline", f"Trigger a pipeline on {p.get('ref') or 'main'} in project {p['project']}"
                ),
                StepPlan("follow_pipeline", "Follow the pipeline to its result", retry_from="trigger_pipeline"),
            ],
            lambda p: f"the pipeline on {p.get('ref') or 'main'} in project {p['project']} passed",
            deploys=True,
        ),
        Action(
            "gitlab_project",
            "Create GitLab project",
            GitLabProjectSchema,
            lambda p: ("gitlab",),
            lambda p: [StepPlan("gitlab_project", f"Project {p['name']} in {p['group']}")],
            lambda p: f"project {p['name']} exists in {p['group']}",
        ),
        Action(
            "jenkins_job",
            "Run Jenkins job",
            JenkinsJobSchema,
            lambda p: ("jenkins",),
            lambda p: [
                StepPlan("trigger_build", f"Queue a build of {p['job']}"),
                StepPlan("follow_build", "Follow the build to its result", retry_from="trigger_build"),
            ],
            lambda p: f"Jenkins job {p['job']} succeeded",
            deploys=True,
        ),
    )
}


def _field_errors(detail: Any, prefix: str = "parameters") -> dict[str, list[str]]:
    if isinstance(detail, Mapping):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = prefix if key == "non_field_errors" else f"{prefix}.{key}"
            out.update(_field_errors(value, name))
        return out
    if isinstance(detail, list) and all(not isinstance(item, Mapping | list) for item in detail):
        return {prefix: [str(item) for item in detail]}
    if isinstance(detail, list):
        out = {}
        for item in detail:
            out.update(_field_errors(item, prefix))
        return out
    return {prefix: [str(detail)]}


def parameters_clean(action: Action, parameters: Any) -> dict[str, Any]:
    """Validate `parameters` against the action's schema; field errors are named `parameters.<field>`."""
    if not isinstance(parameters, Mapping):
        raise ValidationFailed(
            "Parameters must be an object.", fields={"parameters": "Give the parameters as name/value pairs."}
        )
    schema = action.schema(data=dict(parameters))
    if not schema.is_valid():
        raise ValidationFailed(
            f"The parameters for “{action.label}” are incomplete or invalid.", fields=_field_errors(schema.errors)
        )
    return dict(schema.validated_data)


def schema_description(action: Action) -> list[dict[str, Any]]:
    """The action's fields, for forms and the API: name, required, help text and choices."""
    fields = []
    for name, field in action.schema().fields.items():
        fields.append(
            {
                "name": name,
                "required": field.required,
                "help_text": str(field.help_text or ""),
                "choices": list(getattr(field, "choices", {}) or []),
            }
        )
    return fields
