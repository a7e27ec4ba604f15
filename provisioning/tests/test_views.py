"""The runs panel of the request page: htmx partial that polls while a run is under way, and plain forms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from provisioning import services
from provisioning.choices import RunStatus
from provisioning.models import ProvisioningRun
from provisioning.tests.helpers import drive, in_progress
from requests_app.choices import EventKind

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


# --- cancel and resume ---------------------------------------------------------------------------------------
def _stuck(service_request, world):
    """A run whose worker died mid-run: running in its name, the lease lapsed minutes ago."""
    run = services.run_start(service_request, actor=world.vendor_engineer)
    past = timezone.now() - timedelta(minutes=5)
    ProvisioningRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, lease_owner="dead-worker", lease_expires_at=past, heartbeat_at=past
    )
    return run


def control_url(name, run) -> str:
    return reverse(f"provisioning-run-{name}", args=[run.service_request.reference, run.pk])


def test_a_stuck_run_says_so_and_offers_resume_and_cancel_to_the_pm_and_the_vendors_engineers(world, client):
    service_request = in_progress(world)
    run = _stuck(service_request, world)

    for user in (world.pm, world.vendor_engineer):
        client.force_login(user)
        html = client.get(panel_url(service_request)).content.decode()
        assert 'data-testid="run-stuck"' in html and "No worker has reported on this run" in html
        assert 'data-testid="run-resume"' in html and f"Resume run #{run.pk}" in html
        assert 'data-testid="run-cancel"' in html and 'name="confirm" value="yes"' in html
        assert f'hx-confirm="Cancel automation run #{run.pk}?' in html and 'hx-preserve="true"' in html
    client.force_login(world.requester)
    html = client.get(panel_url(service_request)).content.decode()
    assert 'data-testid="run-stuck"' in html  # they may see it is stuck, and that Portico will resume it
    assert 'data-testid="run-resume"' not in html and 'data-testid="run-cancel"' not in html


def test_a_run_whose_worker_reports_can_be_cancelled_but_not_resumed(world, client):
    service_request = in_progress(world)
    services.run_start(service_request, actor=world.vendor_engineer)  # queued, within its lease
    client.force_login(world.vendor_engineer)

    html = client.get(panel_url(service_request)).content.decode()

    assert 'data-testid="run-cancel"' in html
    assert 'data-testid="run-resume"' not in html and 'data-testid="run-stuck"' not in html


def test_resuming_without_javascript_redirects_to_the_request_page(world, client):
    service_request = in_progress(world)
    run = _stuck(service_request, world)
    client.force_login(world.pm)

    response = client.post(control_url("resume", run))

    assert response.status_code == 302
    assert response["Location"] == reverse("request-detail", args=[service_request.reference])
    run.refresh_from_db()
    assert run.lease_owner == "" and run.lease_expires_at > timezone.now()
    assert service_request.events.get(kind=EventKind.PROVISIONING_RESUMED).actor == world.pm


def test_cancelling_needs_the_confirmation_and_with_htmx_returns_the_panel(world, client):
    service_request = in_progress(world)
    run = _stuck(service_request, world)
    client.force_login(world.vendor_engineer)

    refused = client.post(control_url("cancel", run), {"reason": "No confirm"}, **HTMX).content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and f"Confirm that run #{run.pk} should be cancelled" in refused

    response = client.post(control_url("cancel", run), {"confirm": "yes", "reason": "Wrong quota"}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200 and f"Automation run #{run.pk} cancelled." in html
    assert 'data-status="cancelled"' in html and "Cancelled by opti-eng: Wrong quota" in html
    assert 'hx-trigger="every 2s"' not in html and 'data-testid="run-cancel"' not in html
    cancelled = service_request.events.get(kind=EventKind.PROVISIONING_CANCELLED)
    assert cancelled.actor == world.vendor_engineer and cancelled.payload["reason"] == "Wrong quota"


def test_a_refused_cancel_without_javascript_explains_and_changes_nothing(world, client):
    service_request = in_progress(world)
    run = _stuck(service_request, world)
    client.force_login(world.requester)

    response = client.post(control_url("cancel", run), {"confirm": "yes"}, follow=True)

    assert "Only the program manager and engineers of the vendor" in response.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    client.force_login(world.other_vendor_engineer)
    assert client.post(control_url("cancel", run), {"confirm": "yes"}).status_code == 404
    assert client.post(control_url("resume", run)).status_code == 404
