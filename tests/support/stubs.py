"""The stub servers as fixtures, one per test, for every app's tests (real adapters over HTTP, never a patched
client library). A test asks for `k8s_stub`, `gitlab_stub`, `jenkins_stub`, `jira_stub`, `slack` or `teams` and
gets a started server, stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conversations.testing import SlackStub, TeamsStub
from integrations.gitlab.stub import GitLabStub
from integrations.jenkins.stub import JenkinsStub
from integrations.jira.stub import JiraStub
from integrations.kubernetes.stub import KubernetesStub


@pytest.fixture
def k8s_stub() -> Iterator[KubernetesStub]:
    with KubernetesStub() as stub:
        yield stub


@pytest.fixture
def gitlab_stub() -> Iterator[GitLabStub]:
    with GitLabStub() as stub:
        yield stub


@pytest.fixture
def jenkins_stub() -> Iterator[JenkinsStub]:
    """Jenkins with two jobs: `deploy` (succeeds) and `team/release` (fails)."""
    with JenkinsStub() as stub:
        stub.add_job("deploy")
        stub.add_job("team/release", result="FAILURE")
        yield stub


@pytest.fixture
def jira_stub() -> Iterator[JiraStub]:
    with JiraStub() as stub:
        yield stub


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with SlackStub() as stub:
        yield stub


@pytest.fixture
def teams() -> Iterator[TeamsStub]:
    with TeamsStub() as stub:
        yield stub
