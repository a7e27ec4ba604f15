"""Every adapter meets the same failures the same way: 5xx, 401, slow answers, dropped connections, leaked secrets.

Real client libraries, real HTTP, scripted stub faults. No client-side retries may hide a failure: Celery owns
retrying.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from integrations.config import GitLabConfig, JenkinsConfig, JiraConfig, KubernetesConfig
from integrations.errors import ErrorKind, IntegrationError, TransientIntegrationError
from integrations.gitlab import GitLabAdapter
from integrations.gitlab.stub import GitLabStub
from integrations.jenkins import JenkinsAdapter
from integrations.jenkins.stub import JenkinsStub
from integrations.jira import JiraAdapter
from integrations.jira.stub import JiraStub
from integrations.kubernetes import KubernetesAdapter
from integrations.kubernetes.stub import KubernetesStub, status_body
from integrations.stub_server import StubServer
from integrations.tests.conftest import FAST_TIMEOUT, TIMEOUT

SLOW = 4.0  # well past FAST_TIMEOUT, so a loaded machine still sees the client give up first


@dataclass
class Rig:
    """One system: its stub, a way to build the real adapter, one representative call and the path it hits."""

    system: str
    stub: StubServer
    secret: str
    make: Callable[..., Any]  # make(secret=..., timeout=...) -> adapter
    op: Callable[[Any], Any]
    path: str
    echo_body: Callable[[str], Any]  # an error body that (carelessly) echoes a value back


def _kubernetes(stub: KubernetesStub) -> Rig:
    return Rig(
        "kubernetes",
        stub,
        stub.token,
        lambda secret=stub.token, timeout=TIMEOUT: KubernetesAdapter(
            KubernetesConfig(stub.url, secret, timeout=timeout)
        ),
        lambda a: a.ensure_namespace(name="team-x", labels={}),
        "/api/v1/namespaces",
        lambda text: status_body(400, "BadRequest", f"bad request {text}"),
    )


def _gitlab(stub: GitLabStub) -> Rig:
    return Rig(
        "gitlab",
        stub,
        stub.token,
        lambda secret=stub.token, timeout=TIMEOUT: GitLabAdapter(GitLabConfig(stub.url, secret, timeout=timeout)),
        lambda a: a.ensure_project(group="platform", name="svc"),
        "/api/v4/groups/*",
        lambda text: {"message": f"bad request {text}"},
    )


def _jenkins(stub: JenkinsStub) -> Rig:
    stub.add_job("deploy")
    return Rig(
        "jenkins",
        stub,
        stub.api_token,
        lambda secret=stub.api_token, timeout=TIMEOUT: JenkinsAdapter(
            JenkinsConfig(stub.url, stub.user, secret, timeout=timeout)
        ),
        lambda a: a.trigger_build(job="deploy", parameters={"A": "1"}),
        "/job/deploy/buildWithParameters",
        lambda text: f"<html>bad request {text}</html>",
    )


def _jira(stub: JiraStub) -> Rig:
    return Rig(
        "jira",
        stub,
        stub.api_token,
        lambda secret=stub.api_token, timeout=TIMEOUT: JiraAdapter(
            JiraConfig(stub.url, email=stub.email, api_token=secret, project_key="OPS", timeout=timeout)
        ),
        lambda a: a.create_issue(summary="x"),
        "/rest/api/2/issue",
        lambda text: {"errorMessages": [f"bad request {text}"], "errors": {}},
    )


RIGS = {
    "kubernetes": (KubernetesStub, _kubernetes),
    "gitlab": (GitLabStub, _gitlab),
    "jenkins": (JenkinsStub, _jenkins),
    "jira": (JiraStub, _jira),
}


@pytest.fixture(params=sorted(RIGS))
def rig(request) -> Iterator[Rig]:
    stub_class, build = RIGS[request.param]
    with stub_class() as stub:
        yield build(stub)


def test_server_error_is_transient_and_sent_only_once(rig):
    rig.stub.fail(rig.path, 500)

    with pytest.raises(TransientIntegrationError) as info:
        rig.op(rig.make())

    assert info.value.kind is ErrorKind.UNAVAILABLE and info.value.status == 500
    assert info.value.system == rig.system
    assert len(rig.stub.calls_to(path=rig.path)) == 1  # the client library did not retry behind our back


def test_service_unavailable_is_transient(rig):
    rig.stub.fail(rig.path, 503)

    with pytest.raises(TransientIntegrationError) as info:
        rig.op(rig.make())

    assert info.value.status == 503


def test_scripted_401_is_unauthorised_and_not_transient(rig):
    rig.stub.fail(rig.path, 401)

    with pytest.raises(IntegrationError) as info:
        rig.op(rig.make())

    assert info.value.kind is ErrorKind.UNAUTHORISED and not isinstance(info.value, TransientIntegrationError)
    assert "refused the credentials" in info.value.message


def test_wrong_credentials_are_unauthorised_and_never_echoed(rig):
    with pytest.raises(IntegrationError) as info:
        rig.op(rig.make(secret="wrong-secret-4711"))

    assert info.value.kind is ErrorKind.UNAUTHORISED and info.value.status == 401
    assert "wrong-secret-4711" not in info.value.message and "wrong-secret-4711" not in repr(info.value)


def test_slow_answer_times_out_quickly_as_transient(rig):
    rig.stub.slow(rig.path, SLOW)
    adapter = rig.make(timeout=FAST_TIMEOUT)

    started = time.monotonic()
    with pytest.raises(TransientIntegrationError) as info:
        rig.op(adapter)

    assert time.monotonic() - started < SLOW - 0.5
    assert "timed out" in info.value.message


def test_dropped_connection_is_transient(rig):
    rig.stub.drop(rig.path)

    with pytest.raises(TransientIntegrationError) as info:
        rig.op(rig.make())

    assert "connection failed or was dropped" in info.value.message
    assert len(rig.stub.calls_to(path=rig.path)) == 1


def test_the_call_succeeds_once_the_fault_has_passed(rig):
    rig.stub.fail(rig.path, 500)
    adapter = rig.make()
    with pytest.raises(TransientIntegrationError):
        rig.op(adapter)

    result = rig.op(adapter)

    assert result is not None


def test_a_secret_echoed_in_an_error_body_is_redacted(rig):
    rig.stub.fail(rig.path, 400, body=rig.echo_body(f"token={rig.secret}"))

    with pytest.raises(IntegrationError) as info:
        rig.op(rig.make())

    assert info.value.kind is ErrorKind.INVALID
    assert rig.secret not in info.value.message


def test_no_secret_reaches_any_log_line(rig, caplog):
    caplog.set_level(logging.DEBUG)
    adapter = rig.make()
    rig.stub.fail(rig.path, 500)
    with pytest.raises(TransientIntegrationError):
        rig.op(adapter)
    rig.op(adapter)
    with pytest.raises(IntegrationError):
        rig.op(rig.make(secret="wrong-secret-4711"))

    assert caplog.records, "expected the adapters and libraries to log something"
    assert rig.secret not in caplog.text and "wrong-secret-4711" not in caplog.text


def test_configs_and_adapters_keep_secrets_out_of_repr(rig):
    adapter = rig.make()

    assert rig.secret not in repr(adapter)
    assert rig.secret not in repr(adapter._config)
    assert rig.secret not in str(adapter._config)
