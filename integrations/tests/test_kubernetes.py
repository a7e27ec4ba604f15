"""KubernetesAdapter over HTTP against the Kubernetes stub."""

from __future__ import annotations

import time

import pytest

from integrations.config import KubernetesConfig
from integrations.errors import ErrorKind, IntegrationError, TransientIntegrationError
from integrations.kubernetes import KubernetesAdapter
from integrations.results import Outcome
from integrations.tests.conftest import FAST_TIMEOUT

RBAC = "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings"


@pytest.fixture
def team_a(k8s):
    k8s.ensure_namespace(name="team-a", labels={"portico/team": "a"})
    return "team-a"


def test_ensure_namespace_creates_it_with_labels_then_reports_unchanged(k8s, k8s_stub):
    first = k8s.ensure_namespace(name="team-a", labels={"portico/team": "a"})
    second = k8s.ensure_namespace(name="team-a", labels={"portico/team": "a"})

    assert (first.outcome, second.outcome) == (Outcome.CREATED, Outcome.UNCHANGED)
    labels = k8s_stub.get("namespaces", "team-a")["metadata"]["labels"]
    assert labels == {"portico/team": "a", "app.kubernetes.io/managed-by": "portico"}
    assert k8s_stub.count("namespaces") == 3  # default, kube-system, team-a
    assert [c.method for c in k8s_stub.calls_to(path="/api/v1/namespaces*")] == ["POST", "POST", "GET"]


def test_ensure_namespace_merges_missing_labels_without_dropping_others(k8s, k8s_stub, team_a):
    k8s_stub.get("namespaces", "team-a")["metadata"]["labels"]["owner"] = "someone-else"

    result = k8s.ensure_namespace(name="team-a", labels={"portico/team": "a", "portico/env": "punjab"})

    assert result.outcome is Outcome.UPDATED
    patch = k8s_stub.calls_to("PATCH", "/api/v1/namespaces/team-a")[0]
    assert patch.headers["content-type"] == "application/merge-patch+json"
    labels = k8s_stub.get("namespaces", "team-a")["metadata"]["labels"]
    assert labels["owner"] == "someone-else" and labels["portico/env"] == "punjab"


def test_resource_quota_twice_is_harmless_and_compares_quantities_by_value(k8s, k8s_stub, team_a):
    first = k8s.ensure_resource_quota(namespace=team_a, hard={"requests.cpu": "500m", "requests.memory": "1Gi"})
    second = k8s.ensure_resource_quota(namespace=team_a, hard={"requests.cpu": "0.5", "requests.memory": "1024Mi"})

    assert (first.outcome, second.outcome) == (Outcome.CREATED, Outcome.UNCHANGED)
    assert k8s_stub.count("resourcequotas", "team-a") == 1
    assert k8s_stub.calls_to("PUT") == []


def test_resource_quota_change_replaces_hard_limits_at_the_read_version(k8s, k8s_stub, team_a):
    k8s.ensure_resource_quota(namespace=team_a, hard={"requests.cpu": "2", "pods": "10"})
    version = k8s_stub.get("resourcequotas", "portico-quota", "team-a")["metadata"]["resourceVersion"]

    result = k8s.ensure_resource_quota(namespace=team_a, hard={"requests.cpu": "4"})

    assert result.outcome is Outcome.UPDATED
    put = k8s_stub.calls_to("PUT", "/api/v1/namespaces/team-a/resourcequotas/portico-quota")[0]
    assert put.body["metadata"]["resourceVersion"] == version
    assert k8s_stub.get("resourcequotas", "portico-quota", "team-a")["spec"]["hard"] == {"requests.cpu": "4"}


def test_limit_range_twice_is_harmless_and_uses_camel_case_fields(k8s, k8s_stub, team_a):
    kwargs = {"namespace": team_a, "default": {"cpu": "500m", "memory": "512Mi"}, "default_request": {"cpu": "100m"}}
    first = k8s.ensure_limit_range(**kwargs)
    second = k8s.ensure_limit_range(**kwargs)

    assert (first.outcome, second.outcome) == (Outcome.CREATED, Outcome.UNCHANGED)
    stored = k8s_stub.get("limitranges", "portico-limits", "team-a")["spec"]["limits"]
    assert stored == [
        {"type": "Container", "default": {"cpu": "500m", "memory": "512Mi"}, "defaultRequest": {"cpu": "100m"}}
    ]


def test_default_deny_network_policy_selects_every_pod_and_is_idempotent(k8s, k8s_stub, team_a):
    first = k8s.ensure_default_deny_network_policy(namespace=team_a)
    second = k8s.ensure_default_deny_network_policy(namespace=team_a)

    assert (first.outcome, second.outcome) == (Outcome.CREATED, Outcome.UNCHANGED)
    spec = k8s_stub.get("networkpolicies", "default-deny", "team-a")["spec"]
    assert spec == {"podSelector": {"matchLabels": {}}, "policyTypes": ["Ingress"]}
    assert k8s_stub.calls_to("POST", "/apis/networking.k8s.io/v1/namespaces/team-a/networkpolicies")


def test_default_deny_network_policy_updates_when_egress_is_added(k8s, k8s_stub, team_a):
    k8s.ensure_default_deny_network_policy(namespace=team_a)
    result = k8s.ensure_default_deny_network_policy(namespace=team_a, policy_types=("Ingress", "Egress"))

    assert result.outcome is Outcome.UPDATED
    assert k8s_stub.get("networkpolicies", "default-deny", "team-a")["spec"]["policyTypes"] == ["Egress", "Ingress"]


def test_role_binding_twice_is_harmless(k8s, k8s_stub, team_a):
    kwargs = {"namespace": team_a, "name": "team-edit", "cluster_role": "edit", "subject": "team-a"}
    first = k8s.ensure_role_binding(**kwargs)
    second = k8s.ensure_role_binding(**kwargs)

    assert (first.outcome, second.outcome) == (Outcome.CREATED, Outcome.UNCHANGED)
    binding = k8s_stub.get("rolebindings", "team-edit", "team-a")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "team-a"}]
    assert k8s_stub.count("rolebindings", "team-a") == 1


def test_role_binding_new_subject_is_replaced_in_place(k8s, k8s_stub, team_a):
    k8s.ensure_role_binding(namespace=team_a, name="jit-asha", cluster_role="edit", subject="asha", subject_kind="User")
    result = k8s.ensure_role_binding(
        namespace=team_a, name="jit-asha", cluster_role="edit", subject="bala", subject_kind="User"
    )

    assert result.outcome is Outcome.UPDATED
    assert k8s_stub.calls_to("PUT", f"{RBAC}/jit-asha")
    assert k8s_stub.get("rolebindings", "jit-asha", "team-a")["subjects"][0]["name"] == "bala"


def test_role_binding_new_role_is_recreated_because_role_ref_is_immutable(k8s, k8s_stub, team_a):
    k8s.ensure_role_binding(namespace=team_a, name="team-edit", cluster_role="edit", subject="team-a")
    result = k8s.ensure_role_binding(namespace=team_a, name="team-edit", cluster_role="view", subject="team-a")

    assert result.outcome is Outcome.UPDATED
    assert [c.method for c in k8s_stub.calls_to(path=f"{RBAC}*")][-2:] == ["DELETE", "POST"]
    assert k8s_stub.get("rolebindings", "team-edit", "team-a")["roleRef"]["name"] == "view"


def test_delete_role_binding_is_idempotent(k8s, k8s_stub, team_a):
    k8s.ensure_role_binding(namespace=team_a, name="team-edit", cluster_role="edit", subject="team-a")

    first = k8s.delete_role_binding(namespace=team_a, name="team-edit")
    second = k8s.delete_role_binding(namespace=team_a, name="team-edit")

    assert (first.outcome, second.outcome) == (Outcome.DELETED, Outcome.ABSENT)
    assert k8s_stub.get("rolebindings", "team-edit", "team-a") is None


def test_resource_in_a_missing_namespace_is_not_found(k8s):
    with pytest.raises(IntegrationError) as info:
        k8s.ensure_resource_quota(namespace="nowhere", hard={"pods": "1"})

    assert info.value.kind is ErrorKind.NOT_FOUND and info.value.status == 404
    assert not info.value.transient
    assert 'namespaces "nowhere" not found' in info.value.message


def test_conflict_on_update_maps_to_conflict(k8s, k8s_stub, team_a):
    k8s.ensure_resource_quota(namespace=team_a, hard={"pods": "1"})
    k8s_stub.fail("/api/v1/namespaces/team-a/resourcequotas/portico-quota", 409, method="PUT")

    with pytest.raises(IntegrationError) as info:
        k8s.ensure_resource_quota(namespace=team_a, hard={"pods": "2"})

    assert info.value.kind is ErrorKind.CONFLICT and not info.value.transient


def test_invalid_body_maps_to_invalid(k8s, k8s_stub, team_a):
    k8s_stub.fail("/api/v1/namespaces/team-a/limitranges", 422, method="POST")

    with pytest.raises(IntegrationError) as info:
        k8s.ensure_limit_range(namespace=team_a, default={"cpu": "1"}, default_request={"cpu": "1"})

    assert info.value.kind is ErrorKind.INVALID and info.value.status == 422


def test_create_that_timed_out_but_landed_is_found_on_retry(k8s_stub):
    """The server was slow and created it after we gave up; the retry must not make a second one."""
    adapter = KubernetesAdapter(KubernetesConfig(url=k8s_stub.url, token=k8s_stub.token, timeout=FAST_TIMEOUT))
    # The server answers long after the client's timeout, so the client gives up first even on a loaded machine
    # (with 1 s, a CI run under load measured 1.35 s before the client's timeout error arrived).
    k8s_stub.slow("/api/v1/namespaces", 3.0, method="POST")

    started = time.monotonic()
    with pytest.raises(TransientIntegrationError):
        adapter.ensure_namespace(name="team-slow", labels={})
    assert time.monotonic() - started < 3.0
    deadline = time.monotonic() + 10
    while k8s_stub.get("namespaces", "team-slow") is None and time.monotonic() < deadline:
        time.sleep(0.05)

    retry = adapter.ensure_namespace(name="team-slow", labels={})

    assert retry.outcome is Outcome.UNCHANGED
    assert k8s_stub.count("namespaces") == 3


def test_check_reports_version_and_permission_in_plain_words(k8s, k8s_stub):
    result = k8s.check()

    assert result.ok and "v1.31.4" in result.summary and "can list namespaces" in result.summary
    assert k8s_stub.calls_to("GET", "/api/v1/namespaces")[0].query == {"limit": ["1"]}


def test_check_with_a_wrong_token_says_so(k8s_stub):
    adapter = KubernetesAdapter(KubernetesConfig(url=k8s_stub.url, token="wrong-token-value", timeout=2))

    result = adapter.check()

    assert not result.ok
    assert "refused the credentials" in result.summary and "401" in result.summary
    assert "wrong-token-value" not in result.summary
