"""Connection rows pointing at the stub servers (the `k8s_stub`, `gitlab_stub` and `jenkins_stub` fixtures come
from tests/support/stubs.py), and helpers that file requests with parameters and drive runs.

Real adapters over HTTP against the stubs; the token reaches the adapter through the environment variable the
Connection names (set with monkeypatch.setenv: environment config, not a patched client library).
"""

from __future__ import annotations

from typing import Any

import pytest

from integrations.models import Connection

TOKEN_ENV = {
    "kubernetes": "PORTICO_TEST_K8S_TOKEN",
    "gitlab": "PORTICO_TEST_GITLAB_TOKEN",
    "jenkins": "PORTICO_TEST_JENKINS_TOKEN",
}


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch):
    """connect(world, "kubernetes", stub): the environment reaches `system` at the stub, token from the env."""

    def make(world: Any, system: str, stub: Any) -> Connection:
        token = {"kubernetes": "token", "gitlab": "token", "jenkins": "api_token"}[system]
        monkeypatch.setenv(TOKEN_ENV[system], getattr(stub, token))
        if system == "gitlab":
            monkeypatch.setenv(TOKEN_ENV[system] + "_TRIGGER", stub.trigger_token)
        return Connection.objects.create(
            environment=world.environment,
            system=system,
            url=stub.url,
            username=getattr(stub, "user", ""),
            secret_env=TOKEN_ENV[system],
            timeout=3.0,
        )

    return make
