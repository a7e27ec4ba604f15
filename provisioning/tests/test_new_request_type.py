"""Adding a request type is one catalogue entry: registered here, it is filed over the API, triaged, waits for
approval, and its automation runs against the Kubernetes stub after approval, with no other code changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from provisioning.choices import RunStatus
from provisioning.models import ProvisioningRun
from provisioning.tests.helpers import drive
from requests_app import catalogue
from requests_app import services as request_services
from requests_app.catalogue.actions import DnsLabelField, QuantityField
from requests_app.choices import RequestState
from requests_app.models import ServiceRequest

pytestmark = pytest.mark.django_db

CODE = "SandboxNamespace"


class SandboxSchema(catalogue.Schema):
    namespace = DnsLabelField(help_text="Sandbox namespace name.")
    cpu = QuantityField(max_length=16, default="1", required=False)
    memory = QuantityField(max_length=16, default="1Gi", required=False)
    team_group = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


SANDBOX = catalogue.Action(
    "sandbox_namespace",
    "Create sandbox namespace",
    SandboxSchema,
    lambda p: ("kubernetes",),
    # The steps are provisioning's existing executors: a new type reuses them by key.
    lambda p: [
        catalogue.StepPlan("namespace", f"Namespace {p['namespace']}"),
        catalogue.StepPlan("resource_quota", f"ResourceQuota: {p['cpu']} CPU, {p['memory']} memory"),
    ],
    lambda p: f"sandbox {p['namespace']} is ready",
)


@pytest.fixture
def sandbox_type() -> Iterator[catalogue.RequestTypeSpec]:
    spec = catalogue.request_type_register(
        catalogue.RequestTypeSpec(
            code=CODE,
            label="Sandbox namespace",
            actions=(SANDBOX,),
            approval=catalogue.Approval.ALWAYS,
            jira_issue_types=("Sandbox",),
            demo_titles=("Sandbox for {team} in {env}",),
        )
    )
    yield spec
    catalogue.request_type_unregister(CODE)


def test_a_type_registered_in_the_catalogue_is_filed_approved_and_run(
    world: Any, sandbox_type, k8s_stub, connect, django_capture_on_commit_callbacks
):
    connect(world, "kubernetes", k8s_stub)
    client = APIClient()
    client.force_authenticate(world.requester)
    response = client.post(
        "/api/v1/requests/",
        {
            "title": "Sandbox for load tests",
            "description": "A throw-away namespace.",
            "request_type": CODE,
            "priority": "P2",
            "environment": world.environment.code,
            "parameters": {"namespace": "mgramseva-sandbox"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["request_type"] == CODE
    service_request = ServiceRequest.objects.get(reference=response.json()["reference"])
    assert service_request.get_request_type_display() == "Sandbox namespace"

    service_request = request_services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
    assert service_request.state == RequestState.PENDING_APPROVAL  # the entry says it always needs approval
    with django_capture_on_commit_callbacks(execute=False):
        request_services.request_approve(service_request, actor=world.approver)

    run = ProvisioningRun.objects.get(service_request=service_request)  # started by the approval handler
    assert run.action == "sandbox_namespace" and run.created_by is None
    assert drive(run).run.status == RunStatus.SUCCEEDED
    assert k8s_stub.get("namespaces", "mgramseva-sandbox") is not None
    assert k8s_stub.get("resourcequotas", "portico-quota", "mgramseva-sandbox")["spec"]["hard"]["limits.cpu"] == "1"
    assert catalogue.type_for_jira_issue("sandbox") == CODE


def test_an_unregistered_type_is_refused_with_a_field_error(world: Any):
    client = APIClient()
    client.force_authenticate(world.requester)
    response = client.post(
        "/api/v1/requests/",
        {
            "title": "Sandbox",
            "description": "x",
            "request_type": CODE,
            "priority": "P2",
            "environment": world.environment.code,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "request_type" in response.json()["error"]["fields"]
