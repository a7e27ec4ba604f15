"""Partner onboarding pages: the vendors × environments board, and one onboarding with its checklist, history and
the forms to move it on."""

from __future__ import annotations

import dataclasses

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from attachments.selectors import stored_file_download
from portal.exceptions import Forbidden, NotFound, PortalError, ServiceUnavailable
from portal.forms import apply_portal_error
from portal.http import AuthenticatedHttpRequest
from requests_app.choices import OnboardingStatus
from requests_app.models import Environment, Vendor

from ..models import OnboardingStep
from ..sections import SECTIONS
from ..views import require_management
from . import machine
from .forms import MoveForm, ReasonForm
from .selectors import OnboardingView, onboarding_board, onboarding_view
from .services import onboarding_access_revoke, onboarding_move, onboarding_pair, onboarding_tick, vendor_access_open


def _pair(vendor: str, environment: str) -> tuple[Vendor, Environment]:
    try:
        return onboarding_pair(vendor_slug=vendor, environment_code=environment)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _move_forms(view: OnboardingView, bound: MoveForm | None = None) -> list[MoveForm]:
    grants = vendor_access_open(view.onboarding) if view.onboarding else None
    forms = []
    for target in view.my_moves:
        if bound is not None and bound.target == target:
            forms.append(bound)
        else:
            forms.append(MoveForm(target=target, current=view.stage, environment=view.environment, grants=grants))
    return forms


def _render(
    request: AuthenticatedHttpRequest, view: OnboardingView, *, bound: MoveForm | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "view": view,
        "move_forms": _move_forms(view, bound),
        "revoke_form": ReasonForm(prefix="revoke"),
        "sections": SECTIONS,
    }
    return render(request, "backoffice/onboarding_detail.html", context, status=status)


@login_required
@require_GET
def onboarding_board_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_management(request)
    environments, rows = onboarding_board()
    context = {"environments": environments, "rows": rows, "stages": machine.ACTIVE, "sections": SECTIONS}
    return render(request, "backoffice/onboarding_board.html", context)


@login_required
@require_GET
def onboarding_detail(request: AuthenticatedHttpRequest, vendor: str, environment: str) -> HttpResponse:
    require_management(request)
    found_vendor, found_environment = _pair(vendor, environment)
    return _render(request, onboarding_view(vendor=found_vendor, environment=found_environment, user=request.user))


@login_required
@require_POST
def onboarding_move_page(request: AuthenticatedHttpRequest, vendor: str, environment: str) -> HttpResponse:
    """Make one move; a refused move shows the page again with the reason on its form."""
    require_management(request)
    found_vendor, found_environment = _pair(vendor, environment)
    view = onboarding_view(vendor=found_vendor, environment=found_environment, user=request.user)
    target = request.POST.get("to", "")
    if target not in OnboardingStatus.values:
        messages.error(request, "Choose a stage to move to.")
        return redirect("backoffice-onboarding-detail", vendor, environment)
    grants = vendor_access_open(view.onboarding) if view.onboarding else None
    form = MoveForm(
        request.POST,
        request.FILES,
        target=OnboardingStatus(target),
        current=view.stage,
        environment=found_environment,
        grants=grants,
    )
    status = 400
    if form.is_valid():
        try:
            step = onboarding_move(
                vendor=found_vendor,
                environment=found_environment,
                actor=request.user,
                to=target,
                reason=form.cleaned_data["reason"],
                data=form.move_data(),
            )
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        except PortalError as exc:
            apply_portal_error(form, exc)
            status = 503 if isinstance(exc, ServiceUnavailable) else exc.status_code
        else:
            messages.success(request, f"{found_vendor} is now at {step.get_to_stage_display()} in {found_environment}.")
            failed = [r for r in step.data.get("revocations", []) if not r["revoked"]]
            if failed:
                messages.error(
                    request, f"Access could not be revoked for {len(failed)} grant(s); see “Access still open”."
                )
            return redirect("backoffice-onboarding-detail", vendor, environment)
    # A refused move may not be offered at all (someone moved it meanwhile): show it anyway, with its error.
    if OnboardingStatus(target) not in view.my_moves:
        view = dataclasses.replace(view, my_moves=[*view.my_moves, OnboardingStatus(target)])
    return _render(request, view, bound=form, status=status)


@login_required
@require_POST
def onboarding_tick_page(request: AuthenticatedHttpRequest, vendor: str, environment: str) -> HttpResponse:
    require_management(request)
    found_vendor, found_environment = _pair(vendor, environment)
    view = onboarding_view(vendor=found_vendor, environment=found_environment, user=request.user)
    if view.onboarding is None:
        raise Http404("Onboarding has not started here.")
    try:
        onboarding_tick(
            view.onboarding,
            actor=request.user,
            item=request.POST.get("item", ""),
            done=request.POST.get("done") == "yes",
        )
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except PortalError as exc:
        messages.error(request, exc.message)
    return redirect("backoffice-onboarding-detail", vendor, environment)


@login_required
@require_POST
def onboarding_revoke_page(request: AuthenticatedHttpRequest, vendor: str, environment: str) -> HttpResponse:
    require_management(request)
    found_vendor, found_environment = _pair(vendor, environment)
    view = onboarding_view(vendor=found_vendor, environment=found_environment, user=request.user)
    if view.onboarding is None:
        raise Http404("Onboarding has not started here.")
    try:
        outcomes = onboarding_access_revoke(
            view.onboarding, actor=request.user, reason=request.POST.get("revoke-reason", "")
        )
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        failed = sum(not outcome.revoked for outcome in outcomes)
        if failed:
            messages.error(request, f"{failed} of {len(outcomes)} could still not be revoked.")
        else:
            messages.success(request, f"Revoked {len(outcomes)}.")
    return redirect("backoffice-onboarding-detail", vendor, environment)


@login_required
@require_GET
def onboarding_document(
    request: AuthenticatedHttpRequest, vendor: str, environment: str, step: int
) -> HttpResponseBase:
    """The signed NDA of one step, as a download."""
    require_management(request)
    found_vendor, found_environment = _pair(vendor, environment)
    found = OnboardingStep.objects.filter(
        pk=step, onboarding__vendor=found_vendor, onboarding__environment=found_environment
    ).first()
    if found is None or not found.document:
        raise Http404("No such document.")
    try:
        return stored_file_download(found.document, filename=found.document_name, content_type=found.document_type)
    except ServiceUnavailable as exc:
        messages.error(request, exc.message)
        return redirect("backoffice-onboarding-detail", vendor, environment)
