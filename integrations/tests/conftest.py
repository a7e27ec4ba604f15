"""Real adapters pointed at the stub servers (the `*_stub` fixtures come from tests/support/stubs.py). No database,
no monkeypatching: HTTP over loopback."""

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
def k8s(k8s_stub: KubernetesStub) -> Iterator[KubernetesAdapter]:
    adapter = KubernetesAdapter(KubernetesConfig(url=k8s_stub.url, token=k8s_stub.token, timeout=TIMEOUT))
    yield adapter
    adapter.close()


@pytest.fixture
def gitlab(gitlab_stub: GitLabStub) -> GitLabAdapter:
    return GitLabAdapter(GitLabConfig(url=gitlab_stub.url, token=gitlab_stub.token, timeout=TIMEOUT))


@pytest.fixture
def jenkins(jenkins_stub: JenkinsStub) -> JenkinsAdapter:
    config = JenkinsConfig(
        url=jenkins_stub.url, user=jenkins_stub.user, api_token=jenkins_stub.api_token, timeout=TIMEOUT
    )
    return JenkinsAdapter(config)


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
