"""The runs panel of a request page: an htmx partial that polls itself while a run is under way. Its forms also
work without JavaScript (POST, then back to the request page)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.exceptions import NotFound, PortalError, ValidationFailed
from portal.http import AuthenticatedHttpRequest
from requests_app.models import ServiceRequest

from . import services
from .forms import RunCancelForm
from .models import ProvisioningRun

PARTIAL = "provisioning/partials/runs.html"


def _request_or_404(request: AuthenticatedHttpRequest, reference: str) -> ServiceRequest:
    queryset = ServiceRequest.objects.visible_to(request.user).select_related("environment", "team", "vendor")
    return get_object_or_404(queryset, reference=reference)


def _panel(
    request: AuthenticatedHttpRequest, service_request: ServiceRequest, *, notice: str = "", error: str = ""
) -> HttpResponse:
    context = {"service_request": service_request, "runs_notice": notice, "runs_error": error}
    return render(request, PARTIAL, context)


def _act(
    request: AuthenticatedHttpRequest, service_request: ServiceRequest, call: Callable[[], ProvisioningRun], done: str
) -> HttpResponse:
    """Run one service; htmx gets the refreshed panel back, a plain form goes back to the request page."""
    try:
        run = call()
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PortalError as exc:
        if request.htmx:
            return _panel(request, service_request, error=exc.message)
        messages.error(request, exc.message)
    else:
        notice = done.format(run=run)
        if request.htmx:
            return _panel(request, service_request, notice=notice)
        messages.success(request, notice)
    return redirect("request-detail", reference=service_request.reference)


@login_required
@require_http_methods(["GET", "POST"])
def request_runs(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """GET: the runs panel. POST: start the request's automation."""
    service_request = _request_or_404(request, reference)
    if request.method == "GET":
        return _panel(request, service_request)
    action = request.POST.get("action") or None
    reason = request.POST.get("reason", "")
    return _act(
        request,
        service_request,
        lambda: services.run_start(service_request, actor=request.user, action=action, reason=reason),
        "Automation run #{run.pk} started.",
    )


@login_required
@require_POST
def request_run_retry(request: AuthenticatedHttpRequest, reference: str, run_id: int) -> HttpResponse:
    """Retry a failed run from the step that failed."""
    service_request = _request_or_404(request, reference)
    run = _run_or_404(service_request, run_id)
    return _act(
        request,
        service_request,
        lambda: services.run_retry(run, actor=request.user),
        "Automation run #{run.pk} is running again.",
    )


def _run_or_404(service_request: ServiceRequest, run_id: int) -> ProvisioningRun:
    return get_object_or_404(ProvisioningRun.objects.filter(service_request=service_request), pk=run_id)


@login_required
@require_POST
def request_run_cancel(request: AuthenticatedHttpRequest, reference: str, run_id: int) -> HttpResponse:
    """Cancel a queued or running run; the panel's form asks for confirmation (`confirm=yes`) first."""
    service_request = _request_or_404(request, reference)
    run = _run_or_404(service_request, run_id)

    def cancel() -> ProvisioningRun:
        form = RunCancelForm(request.POST)
        if not form.is_valid():
            services.run_control_check(run, actor=request.user, verb="cancel")  # a refusal outranks a missing tick
            errors = {name: [str(error) for error in problems] for name, problems in form.errors.items()}
            raise ValidationFailed(f"Confirm that run #{run.pk} should be cancelled.", fields=errors)
        return services.run_cancel(run, actor=request.user, reason=form.cleaned_data["reason"])

    return _act(request, service_request, cancel, "Automation run #{run.pk} cancelled.")


@login_required
@require_POST
def request_run_resume(request: AuthenticatedHttpRequest, reference: str, run_id: int) -> HttpResponse:
    """Resume a stuck run (its worker stopped reporting) on another worker; done steps are not repeated."""
    service_request = _request_or_404(request, reference)
    run = _run_or_404(service_request, run_id)
    return _act(
        request,
        service_request,
        lambda: services.run_resume(run, actor=request.user),
        "Automation run #{run.pk} resumed.",
    )
