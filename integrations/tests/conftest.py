"""Stub servers and real adapters pointed at them. No database, no monkeypatching: HTTP over loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrations.config import GitLabConfig, JenkinsConfig, JiraConfig, KubernetesConfig
from integrations.gitlab import GitLabAdapter
from integrations.gitlab.stub import GitLabStub
from integrations.jenkins import JenkinsAdapter
from integrations.jenkins.stub import JenkinsStub
from integrations.jira import JiraAdapter
from integrations.jira.stub import JiraStub
from integrations.kubernetes import KubernetesAdapter
from integrations.kubernetes.stub import KubernetesStub

TIMEOUT = 3.0  # generous for happy paths on a busy machine; timeout tests use FAST_TIMEOUT
FAST_TIMEOUT = 0.3


@pytest.fixture
def k8s_stub() -> Iterator[KubernetesStub]:
    with KubernetesStub() as stub:
        yield stub


@pytest.fixture
def k8s(k8s_stub: KubernetesStub) -> Iterator[KubernetesAdapter]:
    adapter = KubernetesAdapter(KubernetesConfig(url=k8s_stub.url, token=k8s_stub.token, timeout=TIMEOUT))
    yield adapter
    adapter.close()


@pytest.fixture
def gitlab_stub() -> Iterator[GitLabStub]:
    with GitLabStub() as stub:
        yield stub


@pytest.fixture
def gitlab(gitlab_stub: GitLabStub) -> GitLabAdapter:
    return GitLabAdapter(GitLabConfig(url=gitlab_stub.url, token=gitlab_stub.token, timeout=TIMEOUT))


@pytest.fixture
def jenkins_stub() -> Iterator[JenkinsStub]:
    with JenkinsStub() as stub:
        stub.add_job("deploy")
        stub.add_job("team/release", result="FAILURE")
        yield stub


@pytest.fixture
def jenkins(jenkins_stub: JenkinsStub) -> JenkinsAdapter:
    config = JenkinsConfig(
        url=jenkins_stub.url, user=jenkins_stub.user, api_token=jenkins_stub.api_token, timeout=TIMEOUT
    )
    return JenkinsAdapter(config)


@pytest.fixture
def jira_stub() -> Iterator[JiraStub]:
    with JiraStub() as stub:
        yield stub


@pytest.fixture
def jira(jira_stub: JiraStub) -> JiraAdapter:
    """Jira Cloud: e-mail + API token."""
    config = JiraConfig(
        url=jira_stub.url, email=jira_stub.email, api_token=jira_stub.api_token, project_key="OPS", timeout=TIMEOUT
    )
    return JiraAdapter(config)


@pytest.fixture
def jira_dc(jira_stub: JiraStub) -> JiraAdapter:
    """Jira Data Center: personal access token."""
    return JiraAdapter(JiraConfig(url=jira_stub.url, pat=jira_stub.pat, project_key="OPS", timeout=TIMEOUT))


# --- Jira both ways: a Punjab connection pointing at the stub, and the queued tasks run like a worker would ----
JIRA_TOKEN_ENV = "PORTICO_TEST_JIRA_TOKEN"
JIRA_WEBHOOK_ENV = "PORTICO_TEST_JIRA_WEBHOOK_SECRET"
JIRA_WEBHOOK_SECRET = "whsec-punjab-test"


@pytest.fixture
def jira_connection(world, jira_stub: JiraStub, monkeypatch: pytest.MonkeyPatch):
    """Punjab's Jira: Cloud credentials for the stub, mirror project OPS, intake project INTAKE."""
    from integrations.models import Connection

    monkeypatch.setenv(JIRA_TOKEN_ENV, jira_stub.api_token)
    monkeypatch.setenv(JIRA_WEBHOOK_ENV, JIRA_WEBHOOK_SECRET)
    jira_stub.projects["INTAKE"] = {"id": "10001", "key": "INTAKE", "name": "Intake"}
    return Connection.objects.create(
        environment=world.environment,
        system="jira",
        url=jira_stub.url,
        username=jira_stub.email,
        secret_env=JIRA_TOKEN_ENV,
        project_key="OPS",
        intake_project_key="INTAKE",
        webhook_secret_env=JIRA_WEBHOOK_ENV,
        timeout=TIMEOUT,
    )


def run_outbox(task) -> list:
    """Run the queued outbox messages for `task` in order, as a worker would, by calling the task directly.

    A message is marked sent only once its task returns, so a test can run it again after a failure."""
    from django.utils import timezone

    from portal.models import OutboxMessage

    results = []
    for message in OutboxMessage.objects.filter(task=task.name, dispatched_at__isnull=True).order_by("pk"):
        results.append(task(**message.kwargs))
        OutboxMessage.objects.filter(pk=message.pk).update(dispatched_at=timezone.now())
    return results
