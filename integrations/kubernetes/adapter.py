"""Kubernetes adapter over the official `kubernetes` client: namespaces and their guard rails, create-or-update."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.utils import parse_quantity

from integrations.config import KubernetesConfig
from integrations.errors import NETWORK_ERRORS, IntegrationError, from_kubernetes
from integrations.results import CheckResult, Outcome

log = logging.getLogger(__name__)

RBAC_GROUP = "rbac.authorization.k8s.io"
MANAGED_BY = {"app.kubernetes.io/managed-by": "portico"}
QUOTA_NAME = "portico-quota"
LIMIT_RANGE_NAME = "portico-limits"
DENY_POLICY_NAME = "default-deny"
MERGE_PATCH = "application/merge-patch+json"

T = TypeVar("T")


@dataclass(frozen=True)
class KubernetesResource:
    """What an ensure_*/delete_* call left behind."""

    kind: str
    name: str
    namespace: str | None
    outcome: Outcome


def _quantities(values: Mapping[str, Any] | None) -> dict[str, Decimal]:
    """Compare "500m" with "0.5" the way the API server does, not as strings."""
    result = {}
    for key, value in (values or {}).items():
        try:
            result[key] = parse_quantity(value)
        except ValueError:
            result[key] = Decimal(-1)  # unparsable: never equal, so we rewrite it
    return result


class KubernetesAdapter:
    """Portico's only door to Kubernetes."""

    system = "kubernetes"

    def __init__(self, config: KubernetesConfig) -> None:
        self._config = config
        cfg = client.Configuration(
            host=config.url.rstrip("/"),
            api_key={"authorization": config.token},
            api_key_prefix={"authorization": "Bearer"},
        )
        # Celery owns retries (with backoff); urllib3 must not silently replay a POST.
        cfg.retries = False
        if config.insecure:
            cfg.verify_ssl = False
        elif config.ca_bundle_path:
            cfg.ssl_ca_cert = config.ca_bundle_path
        self._api_client = client.ApiClient(cfg)
        self._core = client.CoreV1Api(self._api_client)
        self._net = client.NetworkingV1Api(self._api_client)
        self._rbac = client.RbacAuthorizationV1Api(self._api_client)
        self._timeout = config.timeout

    def __repr__(self) -> str:
        return f"KubernetesAdapter(url={self._config.url!r})"

    def close(self) -> None:
        """Release pooled connections."""
        self._api_client.close()

    # ---- plumbing --------------------------------------------------------------------------------------------
    def _call(self, action: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one client call with our timeout, mapping every failure to an IntegrationError."""
        log.info("kubernetes: %s", action)
        try:
            return fn(*args, _request_timeout=self._timeout, **kwargs)
        except (ApiException, *NETWORK_ERRORS) as exc:
            raise from_kubernetes(exc, action=action, secrets=self._config.secrets) from None

    def _ensure(
        self,
        *,
        kind: str,
        name: str,
        namespace: str | None,
        create: Callable[[], object],
        read: Callable[[], Any],
        same: Callable[[Any], bool],
        update: Callable[[Any], object],
    ) -> KubernetesResource:
        """Create; on 409 read it back and update only if it differs. Safe to repeat after any failure."""
        where = f" in namespace {namespace!r}" if namespace else ""
        try:
            self._call(f"creating {kind} {name!r}{where}", create)
            outcome = Outcome.CREATED
        except IntegrationError as exc:
            if exc.status != 409:
                raise
            current = self._call(f"reading {kind} {name!r}{where}", read)
            if same(current):
                outcome = Outcome.UNCHANGED
            else:
                self._call(f"updating {kind} {name!r}{where}", update, current)
                outcome = Outcome.UPDATED
        log.info("kubernetes: %s %r%s %s", kind, name, where, outcome.value)
        return KubernetesResource(kind=kind, name=name, namespace=namespace, outcome=outcome)

    @staticmethod
    def _meta(name: str, namespace: str | None = None, labels: Mapping[str, str] | None = None) -> client.V1ObjectMeta:
        return client.V1ObjectMeta(name=name, namespace=namespace, labels={**MANAGED_BY, **(labels or {})})

    # ---- operations ------------------------------------------------------------------------------------------
    def ensure_namespace(self, *, name: str, labels: Mapping[str, str]) -> KubernetesResource:
        """Create namespace `name` with `labels`, or add missing labels to an existing one."""
        body = client.V1Namespace(metadata=self._meta(name, labels=labels))
        wanted = {**MANAGED_BY, **labels}

        def same(current: client.V1Namespace) -> bool:
            have = (current.metadata and current.metadata.labels) or {}
            return all(have.get(k) == v for k, v in wanted.items())

        def update(_: Any) -> object:
            # A merge patch touches only our labels; labels others put there stay.
            return self._core.patch_namespace(
                name, {"metadata": {"labels": wanted}}, _content_type=MERGE_PATCH, _request_timeout=self._timeout
            )

        return self._ensure(
            kind="Namespace",
            name=name,
            namespace=None,
            create=lambda **kw: self._core.create_namespace(body=body, **kw),
            read=lambda **kw: self._core.read_namespace(name, **kw),
            same=same,
            update=lambda current, **kw: update(current),
        )

    def ensure_resource_quota(
        self, *, namespace: str, hard: Mapping[str, str], name: str = QUOTA_NAME
    ) -> KubernetesResource:
        """Set the namespace's ResourceQuota `hard` limits exactly."""

        def body(resource_version: str | None = None) -> client.V1ResourceQuota:
            meta = self._meta(name, namespace)
            meta.resource_version = resource_version
            return client.V1ResourceQuota(metadata=meta, spec=client.V1ResourceQuotaSpec(hard=dict(hard)))

        return self._ensure(
            kind="ResourceQuota",
            name=name,
            namespace=namespace,
            create=lambda **kw: self._core.create_namespaced_resource_quota(namespace, body(), **kw),
            read=lambda **kw: self._core.read_namespaced_resource_quota(name, namespace, **kw),
            same=lambda cur: _quantities(cur.spec and cur.spec.hard) == _quantities(hard),
            update=lambda cur, **kw: self._core.replace_namespaced_resource_quota(
                name, namespace, body(cur.metadata.resource_version), **kw
            ),
        )

    def ensure_limit_range(
        self,
        *,
        namespace: str,
        default: Mapping[str, str],
        default_request: Mapping[str, str],
        name: str = LIMIT_RANGE_NAME,
    ) -> KubernetesResource:
        """Set per-container default limits and requests for the namespace."""

        def body(resource_version: str | None = None) -> client.V1LimitRange:
            meta = self._meta(name, namespace)
            meta.resource_version = resource_version
            item = client.V1LimitRangeItem(
                type="Container", default=dict(default), default_request=dict(default_request)
            )
            return client.V1LimitRange(metadata=meta, spec=client.V1LimitRangeSpec(limits=[item]))

        def same(current: client.V1LimitRange) -> bool:
            items = (current.spec and current.spec.limits) or []
            return len(items) == 1 and (
                items[0].type == "Container"
                and _quantities(items[0].default) == _quantities(default)
                and _quantities(items[0].default_request) == _quantities(default_request)
            )

        return self._ensure(
            kind="LimitRange",
            name=name,
            namespace=namespace,
            create=lambda **kw: self._core.create_namespaced_limit_range(namespace, body(), **kw),
            read=lambda **kw: self._core.read_namespaced_limit_range(name, namespace, **kw),
            same=same,
            update=lambda cur, **kw: self._core.replace_namespaced_limit_range(
                name, namespace, body(cur.metadata.resource_version), **kw
            ),
        )

    def ensure_default_deny_network_policy(
        self, *, namespace: str, policy_types: Sequence[str] = ("Ingress",), name: str = DENY_POLICY_NAME
    ) -> KubernetesResource:
        """Deny all traffic of `policy_types` to every pod unless another policy allows it.

        Ingress only by default: denying egress too would cut DNS for every workload in the namespace.
        """
        types = sorted(policy_types)

        def body(resource_version: str | None = None) -> client.V1NetworkPolicy:
            meta = self._meta(name, namespace)
            meta.resource_version = resource_version
            spec = client.V1NetworkPolicySpec(pod_selector=client.V1LabelSelector(match_labels={}), policy_types=types)
            return client.V1NetworkPolicy(metadata=meta, spec=spec)

        def same(current: client.V1NetworkPolicy) -> bool:
            spec = current.spec
            if spec is None:
                return False
            selector = spec.pod_selector
            selects_all = selector is None or not (selector.match_labels or selector.match_expressions)
            return selects_all and sorted(spec.policy_types or []) == types and not spec.ingress and not spec.egress

        return self._ensure(
            kind="NetworkPolicy",
            name=name,
            namespace=namespace,
            create=lambda **kw: self._net.create_namespaced_network_policy(namespace, body(), **kw),
            read=lambda **kw: self._net.read_namespaced_network_policy(name, namespace, **kw),
            same=same,
            update=lambda cur, **kw: self._net.replace_namespaced_network_policy(
                name, namespace, body(cur.metadata.resource_version), **kw
            ),
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
        """Bind ClusterRole `cluster_role` to one group or user inside `namespace`."""
        role_ref = client.V1RoleRef(api_group=RBAC_GROUP, kind="ClusterRole", name=cluster_role)
        subjects = [client.RbacV1Subject(kind=subject_kind, name=subject, api_group=RBAC_GROUP)]

        def body(resource_version: str | None = None) -> client.V1RoleBinding:
            meta = self._meta(name, namespace)
            meta.resource_version = resource_version
            return client.V1RoleBinding(metadata=meta, role_ref=role_ref, subjects=subjects)

        def same(current: client.V1RoleBinding) -> bool:
            have = [(s.kind, s.name) for s in current.subjects or []]
            ref = current.role_ref
            return (ref.kind, ref.name) == ("ClusterRole", cluster_role) and have == [(subject_kind, subject)]

        def update(current: client.V1RoleBinding, **kw: Any) -> object:
            ref = current.role_ref
            if (ref.kind, ref.name) != ("ClusterRole", cluster_role):
                # roleRef is immutable: the API server refuses to change it, so replace the whole binding.
                self._rbac.delete_namespaced_role_binding(name, namespace, **kw)
                return self._rbac.create_namespaced_role_binding(namespace, body(), **kw)
            version = current.metadata.resource_version if current.metadata else None
            return self._rbac.replace_namespaced_role_binding(name, namespace, body(version), **kw)

        return self._ensure(
            kind="RoleBinding",
            name=name,
            namespace=namespace,
            create=lambda **kw: self._rbac.create_namespaced_role_binding(namespace, body(), **kw),
            read=lambda **kw: self._rbac.read_namespaced_role_binding(name, namespace, **kw),
            same=same,
            update=update,
        )

    def delete_role_binding(self, *, namespace: str, name: str) -> KubernetesResource:
        """Remove a RoleBinding; one that is already gone counts as done."""
        try:
            self._call(
                f"deleting RoleBinding {name!r} in namespace {namespace!r}",
                self._rbac.delete_namespaced_role_binding,
                name,
                namespace,
            )
            outcome = Outcome.DELETED
        except IntegrationError as exc:
            if exc.status != 404:
                raise
            outcome = Outcome.ABSENT
        return KubernetesResource(kind="RoleBinding", name=name, namespace=namespace, outcome=outcome)

    def check(self) -> CheckResult:
        """Test connection: reach /version, then prove the token may list namespaces."""
        try:
            version = self._call("reading the server version", client.VersionApi(self._api_client).get_code)
            self._call("listing namespaces", self._core.list_namespace, limit=1)
        except IntegrationError as exc:
            return CheckResult(self.system, False, exc.message)
        return CheckResult(
            self.system,
            True,
            f"Connected to Kubernetes {version.git_version} at {self._config.url}; the token can list namespaces.",
            (f"Kubernetes version {version.git_version}",),
        )
