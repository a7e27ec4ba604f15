"""Per-environment connections: tokens come from named environment variables and "test connection" explains."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from integrations.admin import ConnectionAdmin
from integrations.connections import adapter_for, connection_check
from integrations.kubernetes import DryRunKubernetesAdapter, KubernetesAdapter
from integrations.models import Connection
from requests_app.tests.factories import EnvironmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(k8s_stub, monkeypatch) -> Connection:
    monkeypatch.setenv("PORTICO_TEST_K8S_TOKEN", k8s_stub.token)
    return Connection.objects.create(
        environment=EnvironmentFactory(code="bihar"),
        system="kubernetes",
        url=k8s_stub.url,
        secret_env="PORTICO_TEST_K8S_TOKEN",
        timeout=3,
    )


def test_an_environment_without_a_connection_gets_the_dry_run_twin():
    assert isinstance(adapter_for(EnvironmentFactory(code="internal"), "kubernetes"), DryRunKubernetesAdapter)


def test_a_connection_reads_its_token_from_the_named_variable(connection, k8s_stub):
    adapter = adapter_for(connection.environment, "kubernetes")
    assert isinstance(adapter, KubernetesAdapter)
    assert k8s_stub.token not in repr(connection.config())  # the token never shows in a repr or log line
    result = connection_check(connection)
    assert result.ok, result.summary
    connection.refresh_from_db()
    assert connection.last_check_ok is True and "Connected to Kubernetes" in connection.last_check_summary


def test_a_missing_variable_or_a_wrong_token_is_explained_in_plain_words(connection, monkeypatch):
    monkeypatch.delenv("PORTICO_TEST_K8S_TOKEN")
    result = connection_check(connection)
    assert not result.ok and "PORTICO_TEST_K8S_TOKEN" in result.summary and "not set" in result.summary
    monkeypatch.setenv("PORTICO_TEST_K8S_TOKEN", "not-the-token")
    result = connection_check(connection)
    assert not result.ok and "not-the-token" not in result.summary
    connection.refresh_from_db()
    assert connection.last_check_ok is False


def test_the_admin_action_reports_each_connection(connection, admin_user):
    request = RequestFactory().post("/admin/integrations/connection/")
    request.user = admin_user
    sent: list[str] = []
    model_admin = ConnectionAdmin(Connection, site)
    model_admin.message_user = lambda request, message, level: sent.append(message)
    model_admin.test_connection(request, Connection.objects.all())
    assert len(sent) == 1 and "Connected to Kubernetes" in sent[0]
