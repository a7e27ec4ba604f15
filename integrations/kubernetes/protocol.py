"""What Portico asks of Kubernetes: the methods the real adapter and its dry-run twin both provide."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from integrations.results import CheckResult

    from .adapter import KubernetesResource


class KubernetesPort(Protocol):
    """Namespaces and their guard rails, create-or-update; every call is safe to repeat."""

    def ensure_namespace(self, *, name: str, labels: Mapping[str, str]) -> KubernetesResource: ...

    def ensure_resource_quota(
        self, *, namespace: str, hard: Mapping[str, str], name: str = ...
    ) -> KubernetesResource: ...

    def ensure_limit_range(
        self,
        *,
        namespace: str,
        default: Mapping[str, str],
        default_request: Mapping[str, str],
        name: str = ...,
    ) -> KubernetesResource: ...

    def ensure_default_deny_network_policy(
        self, *, namespace: str, policy_types: Sequence[str] = ..., name: str = ...
    ) -> KubernetesResource: ...

    def ensure_role_binding(
        self,
        *,
        namespace: str,
        name: str,
        cluster_role: str,
        subject: str,
        subject_kind: Literal["Group", "User"] = ...,
    ) -> KubernetesResource: ...

    def delete_role_binding(self, *, namespace: str, name: str) -> KubernetesResource: ...

    def check(self) -> CheckResult: ...
