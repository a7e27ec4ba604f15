"""The stub servers' own scripting: fault counts, method filters, the call log and shutdown."""

from __future__ import annotations

import pytest
import requests

from integrations.gitlab.stub import GitLabStub
from integrations.kubernetes.stub import KubernetesStub


def get(stub, path, **headers):
    return requests.get(f"{stub.url}{path}", headers={"PRIVATE-TOKEN": stub.token, **headers}, timeout=2)


def test_a_fault_applies_to_the_next_n_matching_calls_only():
    with GitLabStub() as stub:
        stub.fail("/api/v4/user", 502, times=2)

        statuses = [get(stub, "/api/v4/user").status_code for _ in range(3)]

    assert statuses == [502, 502, 200]


def test_a_fault_can_be_limited_to_one_method():
    with GitLabStub() as stub:
        stub.fail("/api/v4/projects", 500, method="POST")

        listed = get(stub, "/api/v4/projects/1")

    assert listed.status_code == 404  # the GET was not affected; there is simply no project 1


def test_call_log_keeps_method_path_query_and_json_body():
    with KubernetesStub() as stub:
        requests.post(
            f"{stub.url}/api/v1/namespaces?dryRun=All",
            json={"metadata": {"name": "x"}},
            headers={"Authorization": f"Bearer {stub.token}"},
            timeout=2,
        )

    (call,) = stub.calls
    assert (call.method, call.path, call.query, call.body) == (
        "POST",
        "/api/v1/namespaces",
        {"dryRun": ["All"]},
        {"metadata": {"name": "x"}},
    )


def test_dropped_connection_gives_no_response_at_all():
    with GitLabStub() as stub:
        stub.drop("/api/v4/user")

        with pytest.raises(requests.ConnectionError):
            get(stub, "/api/v4/user")


def test_unknown_route_is_a_404_in_the_systems_error_shape():
    with KubernetesStub() as stub:
        response = requests.get(
            f"{stub.url}/apis/apps/v1/deployments", headers={"Authorization": f"Bearer {stub.token}"}, timeout=2
        )

    assert response.status_code == 404 and response.json()["kind"] == "Status"
