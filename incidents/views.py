"""The on-call pages: rotas for their keepers (the PM every rota, a vendor lead their vendor's), and the feed."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from portal.exceptions import Forbidden, NotFound, PortalError
from portal.forms import apply_portal_error
from portal.http import AuthenticatedHttpRequest
from requests_app import permissions as perms
from requests_app.models import ServiceRequest

from . import breakglass, paging, services
from .calendar import rota_calendar
from .forms import OverrideForm, RotaCreateForm, RotaForm
from .models import OnCallRota
from .selectors import rota_on_call, rotas_loaded


def _keeper(request: AuthenticatedHttpRequest) -> None:
    if not services.oncall_manages(request.user):
        raise PermissionDenied("Only the program manager and vendor leads keep on-call rotas.")


def _rota(request: AuthenticatedHttpRequest, rota_id: int) -> OnCallRota:
    rota = rotas_loaded(OnCallRota.objects.managed_by(request.user)).filter(pk=rota_id).first()
    if rota is None:
        raise Http404("No such rota.")
    return rota


@login_required
def oncall_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The rotas this person keeps, who is on call in each now, and a form to start one."""
    _keeper(request)
    form = RotaCreateForm(request.POST or None, choose_vendor=perms.is_program_manager(request.user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rota = services.rota_create(
                    actor=request.user,
                    vendor=form.cleaned_data.get("vendor"),
                    environment=form.cleaned_data["environment"],
                    **form.settings_data(),
                )
            except PortalError as exc:
                apply_portal_error(form, exc)
            else:
                messages.success(request, f"Created the rota; now put {rota.vendor}'s people on it.")
                return redirect("oncall-rota", rota_id=rota.pk)
        status = 400
    now = timezone.now()
    rotas = [(rota, rota_on_call(rota, now)) for rota in rotas_loaded(OnCallRota.objects.managed_by(request.user))]
    return render(request, "incidents/rota_list.html", {"rotas": rotas, "form": form}, status=status)


def _rota_page(request: AuthenticatedHttpRequest, rota: OnCallRota, *, form=None, override_form=None, status=200):
    calendar_url = request.build_absolute_uri(
        reverse("oncall-calendar", kwargs={"rota_id": rota.pk}) + f"?token={rota.calendar_token}"
    )
    context = {
        "rota": rota,
        "on_call": rota_on_call(rota, timezone.now()),
        "form": form or RotaForm(rota=rota),
        "override_form": override_form or OverrideForm(rota=rota),
        "overrides": rota.overrides.all(),
        "calendar_url": calendar_url,
    }
    return render(request, "incidents/rota_detail.html", context, status=status)


@login_required
def oncall_rota(request: AuthenticatedHttpRequest, rota_id: int) -> HttpResponse:
    """One rota: settings and members in order, overrides, and the calendar address."""
    _keeper(request)
    rota = _rota(request, rota_id)
    if request.method != "POST":
        return _rota_page(request, rota)
    form = RotaForm(request.POST, rota=rota)
    if form.is_valid():
        try:
            services.rota_update(rota.pk, actor=request.user, members=form.members(), **form.settings_data())
        except PortalError as exc:
            apply_portal_error(form, exc)
        else:
            messages.success(request, "Saved the rota.")
            return redirect("oncall-rota", rota_id=rota.pk)
    return _rota_page(request, rota, form=form, status=400)


@login_required
@require_POST
def oncall_override_add(request: AuthenticatedHttpRequest, rota_id: int) -> HttpResponse:
    _keeper(request)
    rota = _rota(request, rota_id)
    form = OverrideForm(request.POST, rota=rota)
    if form.is_valid():
        try:
            services.override_create(rota.pk, actor=request.user, **form.cleaned_data)
        except PortalError as exc:
            apply_portal_error(form, exc)
        else:
            messages.success(request, "Added the override.")
            return redirect("oncall-rota", rota_id=rota.pk)
    return _rota_page(request, rota, override_form=form, status=400)


@login_required
@require_POST
def oncall_override_delete(request: AuthenticatedHttpRequest, rota_id: int, override_id: int) -> HttpResponse:
    _keeper(request)
    rota = _rota(request, rota_id)
    try:
        services.override_delete(override_id, actor=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, "Removed the override.")
    return redirect("oncall-rota", rota_id=rota.pk)


@login_required
@require_POST
def oncall_token_reset(request: AuthenticatedHttpRequest, rota_id: int) -> HttpResponse:
    _keeper(request)
    rota = services.rota_token_reset(_rota(request, rota_id).pk, actor=request.user)
    messages.success(request, "New calendar address: subscriptions to the old one stop updating.")
    return redirect("oncall-rota", rota_id=rota.pk)


@login_required
@require_POST
def oncall_rota_delete(request: AuthenticatedHttpRequest, rota_id: int) -> HttpResponse:
    _keeper(request)
    services.rota_delete(_rota(request, rota_id).pk, actor=request.user)
    messages.success(request, "Deleted the rota.")
    return redirect("oncall-list")


@require_GET
def oncall_calendar(request: HttpRequest, rota_id: int) -> HttpResponse:
    """The iCalendar feed; calendar apps have no session, so the secret in the address is the key."""
    rota = rotas_loaded(OnCallRota.objects.filter(pk=rota_id)).first()
    token = request.GET.get("token", "")
    if rota is None or not secrets.compare_digest(token.encode(), rota.calendar_token.encode()):
        raise Http404("No such calendar.")
    response = HttpResponse(rota_calendar(rota, now=timezone.now()), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="oncall-{rota.pk}.ics"'
    return response


# --- pages ---------------------------------------------------------------------------------------------------
def page_acknowledge_link(request: HttpRequest, token: str) -> HttpResponse:
    """The link in a page's e-mail and SMS: the signature stands for the paged person, so it works signed out
    (a phone at night); GET only shows the button, the POST acknowledges."""
    try:
        page = paging.page_for_token(token)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if request.method == "POST":
        paging.page_acknowledge(page.pk, actor=page.target)
        messages.success(request, f"Page for {page.service_request.reference} acknowledged.")
        return redirect("page-acknowledge-link", token=token)
    return render(request, "incidents/page_acknowledge.html", {"page": page})


@login_required
@require_POST
def page_acknowledge(request: AuthenticatedHttpRequest, page_id: int) -> HttpResponse:
    """The request page's button for the person paged."""
    try:
        page = paging.page_acknowledge(page_id, actor=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PortalError as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(request, "Page acknowledged; escalation stopped.")
    return redirect("request-detail", page.service_request.reference)


# --- break-glass ---------------------------------------------------------------------------------------------
def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


@login_required
@require_POST
def break_glass_take(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """The request page's break-glass form: the grant starts at once; a refusal comes back as a message."""
    service_request = ServiceRequest.objects.visible_to(request.user).filter(reference=reference).first()
    if service_request is None:
        raise Http404("No such request.")
    data = request.POST
    parameters = {
        "system": data.get("system", ""),
        "kubernetes_namespace": data.get("kubernetes_namespace", "").strip(),
        "gitlab_project": _int_or_none(data.get("gitlab_project")),
        "duration_hours": _int_or_none(data.get("duration_hours")),
    }
    try:
        breakglass.break_glass_take(
            service_request, actor=request.user, parameters=parameters, reason=data.get("reason", "")
        )
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Break-glass access is being granted; eGov DevOps will review it.")
    return redirect("request-detail", reference)


@login_required
@require_POST
def break_glass_review(request: AuthenticatedHttpRequest, grant_id: int) -> HttpResponse:
    try:
        grant = breakglass.break_glass_review(grant_id, actor=request.user, note=request.POST.get("note", ""))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except PortalError as exc:  # no note: back to the approvals page, which lists the grant with its form
        messages.error(request, exc.message)
        return redirect("approvals")
    messages.success(request, f"Break-glass access of {grant.subject} reviewed.")
    return redirect("request-detail", grant.service_request.reference)
