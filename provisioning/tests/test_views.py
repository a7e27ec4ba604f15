"""The runs panel of the request page: htmx partial that polls while a run is under way, and plain forms."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning import services
from provisioning.choices import RunStatus
from provisioning.models import ProvisioningRun
from provisioning.tests.helpers import drive, in_progress

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def panel_url(service_request) -> str:
    return reverse("provisioning-runs", args=[service_request.reference])


def test_the_panel_offers_the_action_to_the_assigned_engineer(world, client):
    service_request = in_progress(world)
    client.force_login(world.vendor_engineer)

    response = client.get(panel_url(service_request))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="run-start"' in html and "Run create namespace with quota" in html
    assert 'hx-trigger="every 2s"' not in html  # nothing running: no polling


def test_the_panel_is_login_only_and_404_outside_visibility(world, client):
    service_request = in_progress(world)

    assert client.get(panel_url(service_request)).status_code == 302
    client.force_login(world.other_vendor_engineer)
    assert client.get(panel_url(service_request)).status_code == 404
    assert client.post(panel_url(service_request)).status_code == 404


def test_starting_without_javascript_redirects_to_the_request_page(world, client):
    service_request = in_progress(world)
    client.force_login(world.vendor_engineer)

    response = client.post(panel_url(service_request), {"action": "namespace_with_quota"})

    assert response.status_code == 302
    assert response["Location"] == reverse("request-detail", args=[service_request.reference])
    assert ProvisioningRun.objects.filter(service_request=service_request, status=RunStatus.QUEUED).count() == 1


def test_starting_with_htmx_returns_the_panel_which_polls_until_the_run_finishes(world, client):
    service_request = in_progress(world)
    client.force_login(world.vendor_engineer)

    response = client.post(panel_url(service_request), {}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in html and 'data-status="queued"' in html
    assert "Automation run #" in html and 'data-testid="run-start"' not in html  # one run at a time
    drive(ProvisioningRun.objects.get(service_request=service_request))
    finished = client.get(panel_url(service_request), **HTMX).content.decode()
    assert 'hx-trigger="every 2s"' not in finished
    assert 'data-status="succeeded"' in finished and "Calls recorded" in finished


def test_a_refused_start_shows_the_reason(world, client):
    service_request = in_progress(world)
    client.force_login(world.requester)

    response = client.post(panel_url(service_request), follow=True)

    assert "Only engineers of the vendor" in response.content.decode()
    assert not ProvisioningRun.objects.exists()


def test_a_failed_run_has_a_retry_button_that_works_without_javascript(world, client):
    service_request = in_progress(world)
    run = services.run_start(service_request, actor=world.vendor_engineer)
    services.run_fail(run_id=run.pk, message="GitLab refused the credentials [HTTP 401].")
    client.force_login(world.vendor_engineer)

    html = client.get(panel_url(service_request)).content.decode()
    assert 'data-testid="run-retry"' in html and "[HTTP 401]" in html

    response = client.post(reverse("provisioning-run-retry", args=[service_request.reference, run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED


def test_the_requester_sees_runs_but_no_buttons(world, client):
    service_request = in_progress(world)
    run = services.run_start(service_request, actor=world.vendor_engineer)
    services.run_fail(run_id=run.pk, message="boom")
    client.force_login(world.requester)

    html = client.get(panel_url(service_request)).content.decode()

    assert f"Run #{run.pk}" in html
    assert 'data-testid="run-retry"' not in html and 'data-testid="run-start"' not in html
