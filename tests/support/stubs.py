"""The stub servers as fixtures, one of each per test, for every app's tests (real adapters over HTTP, never a
patched client library). A test asks for `k8s_stub`, `gitlab_stub` or `jenkins_stub` and gets a started server,
stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrations.stubs.gitlab import GitLabStub
from integrations.stubs.jenkins import JenkinsStub
from integrations.stubs.kubernetes import KubernetesStub


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
