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

from portal.exceptions import NotFound, PortalError
from portal.forms import apply_portal_error
from portal.http import AuthenticatedHttpRequest
from requests_app import permissions as perms

from . import services
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
