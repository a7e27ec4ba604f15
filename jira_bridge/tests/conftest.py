"""The Jira feature's fixtures: a Punjab connection pointing at the Jira stub, and the outbox run like a worker."""

from __future__ import annotations

import pytest

from integrations.jira.stub import JiraStub
from integrations.tests.conftest import TIMEOUT

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
