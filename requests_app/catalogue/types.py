"""Request types, each declared once: its label, the automation it offers, whether it waits for approval, the
Jira issue types that arrive as it, and the titles the demo files. Adding a type is one `request_type_register`
call (plus, if it automates against a new system, that system's adapter); nothing else lists types.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, overload

from portal.exceptions import NotFound, ValidationFailed

from ..choices import RequestType
from .actions import BUILTIN_ACTIONS, Action

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ..models import ServiceRequest


class Approval:
    """When a type's requests wait for eGov DevOps after triage."""

    NEVER = "never"
    ALWAYS = "always"
    WHEN_PRODUCTION = "when_production"  # only when the request says it affects production


@dataclass(frozen=True)
class RequestTypeSpec:
    """One request type: everything the portal knows about it, in one place."""

    code: str
    label: str
    actions: tuple[Action, ...] = ()
    approval: str = Approval.NEVER
    jira_issue_types: tuple[str, ...] = ()  # Jira issue type names (any case) filed as this type
    demo_titles: tuple[str, ...] = field(default=("{team} request in {env}",))

    def needs_approval(self, *, affects_production: bool) -> bool:
        if self.approval == Approval.ALWAYS:
            return True
        return self.approval == Approval.WHEN_PRODUCTION and affects_production


_TYPES: dict[str, RequestTypeSpec] = {}


def request_type_register(spec: RequestTypeSpec) -> RequestTypeSpec:
    """Add (or replace) a request type in the catalogue; its choices appear everywhere types are listed."""
    _TYPES[spec.code] = spec
    return spec


def request_type_unregister(code: str) -> None:
    """Remove a type again (tests that register one of their own)."""
    _TYPES.pop(code, None)


def request_types() -> list[RequestTypeSpec]:
    return list(_TYPES.values())


def request_type_spec(code: str) -> RequestTypeSpec:
    try:
        return _TYPES[code]
    except KeyError:
        raise NotFound(f"There is no request type “{code}”.") from None


def request_type_label(code: str) -> str:
    spec = _TYPES.get(code)
    return spec.label if spec else code


def request_type_choices() -> list[tuple[str, str]]:
    """(code, label) for every type, in catalogue order: model fields, forms and serializers all use this."""
    return [(spec.code, spec.label) for spec in _TYPES.values()]


class TypeChoices(Sequence[tuple[str, str]]):
    """A sequence of the current (code, label) pairs, re-read on every pass, for fields that take a sequence
    rather than a callable (DRF's ChoiceField copies its choices when each serializer is built)."""

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(request_type_choices())

    def __len__(self) -> int:
        return len(_TYPES)

    @overload
    def __getitem__(self, index: int) -> tuple[str, str]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[str, str]]: ...
    def __getitem__(self, index: int | slice) -> tuple[str, str] | Sequence[tuple[str, str]]:
        return request_type_choices()[index]


TYPE_CHOICES = TypeChoices()


def needs_approval(service_request: ServiceRequest) -> bool:
    """Whether `service_request` waits for eGov DevOps after triage (the type's rule)."""
    spec = _TYPES.get(service_request.request_type)
    return bool(spec and spec.needs_approval(affects_production=service_request.affects_production))


def type_for_jira_issue(issue_type: str, *, default: str = RequestType.TROUBLESHOOTING) -> str:
    """The portal type a Jira issue of `issue_type` is filed as."""
    wanted = issue_type.strip().lower()
    for spec in _TYPES.values():
        if wanted in (name.lower() for name in spec.jira_issue_types):
            return spec.code
    return default


def actions_for(request_type: str) -> list[Action]:
    """The actions a request of this type offers (empty: the work is manual)."""
    spec = _TYPES.get(request_type)
    return list(spec.actions) if spec else []


def catalogue_actions() -> list[Action]:
    """Every action some request type offers, each once, in catalogue order."""
    seen: dict[str, Action] = {}
    for spec in _TYPES.values():
        for action in spec.actions:
            seen.setdefault(action.name, action)
    return list(seen.values())


def deployment_actions() -> list[str]:
    """Names of the actions whose successful run is a deployment (`Action.deploys`: Jenkins jobs and GitLab
    pipelines), whether or not a request type still offers them: old runs keep their action's name."""
    actions = {action.name: action for action in (*BUILTIN_ACTIONS.values(), *catalogue_actions())}
    return sorted(name for name, action in actions.items() if action.deploys)


def action_named(name: str) -> Action:
    """The action called `name` (a run remembers its action by name)."""
    for action in catalogue_actions():
        if action.name == name:
            return action
    raise NotFound(f"No automation action called “{name}”.")


def types_offering(action: Action) -> list[str]:
    """The type codes whose requests offer `action` (the filing form shows its fields for those)."""
    return [spec.code for spec in _TYPES.values() if action in spec.actions]


def action_for(request_type: str, name: str | None = None) -> Action:
    """The named action (or the type's only one); NotFound when the type offers none or not that one."""
    offered = actions_for(request_type)
    if name:
        chosen = next((a for a in offered if a.name == name), None)
        if chosen is None:
            names = ", ".join(a.name for a in offered) or "none"
            raise NotFound(f"No action “{name}” for {request_type} requests (offered: {names}).")
        return chosen
    if not offered:
        raise NotFound(f"{request_type} requests have no automation; the work is done by hand.")
    return offered[0]


def parameters_validate(request_type: str, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """What filing stores: {} for manual work, or complete and valid parameters for the type's action."""
    from .actions import parameters_clean

    if not parameters:
        return {}
    offered = actions_for(request_type)
    if not offered:
        raise ValidationFailed(
            "This request type has no automation, so it takes no parameters.",
            fields={"parameters": f"{request_type} requests take no parameters; describe the work instead."},
        )
    return parameters_clean(offered[0], parameters)


def _builtin(code: RequestType, **kwargs: object) -> None:
    request_type_register(RequestTypeSpec(code=code.value, label=str(code.label), **kwargs))  # type: ignore[arg-type]


T = RequestType
A = BUILTIN_ACTIONS
_builtin(
    T.INFRA_PROVISION,
    actions=(A["namespace_with_quota"],),
    demo_titles=(
        "Namespace for {team} UAT in {env}",
        "Increase node pool for {stack} in {env}",
        "New PostgreSQL instance for {team}",
        "Object storage bucket for {team} reports",
    ),
)
_builtin(
    T.TROUBLESHOOTING,
    jira_issue_types=("Bug",),
    demo_titles=(
        "{stack} pods crash-looping in {env}",
        "Slow API responses from {stack} in {env}",
        "Ingress returns 502 for {team} in {env}",
    ),
)
_builtin(
    T.NEW_FEATURE,
    jira_issue_types=("Story", "New Feature", "Improvement", "Epic"),
    demo_titles=(
        "Add Grafana dashboard for {team}",
        "Enable autoscaling for {stack} services",
        "Nightly database dump for {team}",
    ),
)
_builtin(
    T.ACCESS_OPS,
    actions=(A["jit_access"],),
    approval=Approval.ALWAYS,
    demo_titles=(
        "Read-only cluster access for {team} developers",
        "VPN access for a new {team} member",
        "Database read replica access for {team} analysts",
    ),
)
_builtin(
    T.GIT_OPS,
    actions=(A["gitlab_project"],),
    demo_titles=("Move {team} manifests to the GitOps repo", "Helm values for {stack} in {env}"),
)
_builtin(
    T.DEPLOYMENT_SUPPORT,
    actions=(A["jenkins_job"],),
    demo_titles=("Help deploying {team} build to {env}", "Rollback of {stack} in {env}"),
)
_builtin(
    T.RELEASE,
    actions=(A["jenkins_job"],),
    approval=Approval.WHEN_PRODUCTION,
    demo_titles=("{stack} release to {env} production", "Release window for {team} in {env}"),
)
_builtin(
    T.CI_PIPELINE,
    actions=(A["gitlab_pipeline"],),
    demo_titles=("Jenkins pipeline for {team}", "GitLab CI runner for {stack} builds fails"),
)
_builtin(
    T.PRODUCTION_ISSUE,
    approval=Approval.WHEN_PRODUCTION,
    jira_issue_types=("Incident",),
    demo_titles=("{env} production outage: {stack} down", "Payments failing for {team} in {env}"),
)

__all__ = [
    "TYPE_CHOICES",
    "Approval",
    "RequestTypeSpec",
    "action_for",
    "action_named",
    "actions_for",
    "catalogue_actions",
    "deployment_actions",
    "needs_approval",
    "parameters_validate",
    "request_type_choices",
    "request_type_label",
    "request_type_register",
    "request_type_spec",
    "request_type_unregister",
    "request_types",
    "type_for_jira_issue",
    "types_offering",
]
