"""The Kubernetes dry-run twin: records what KubernetesAdapter would send instead of sending it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from integrations.dryrun import DryRunAdapter, DryRunRecorder
from integrations.kubernetes.adapter import (
    DENY_POLICY_NAME,
    LIMIT_RANGE_NAME,
    MANAGED_BY,
    QUOTA_NAME,
    KubernetesResource,
)
from integrations.results import Outcome

RBAC = "/apis/rbac.authorization.k8s.io/v1"
NETWORKING = "/apis/networking.k8s.io/v1"


class DryRunKubernetesAdapter(DryRunAdapter):
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
