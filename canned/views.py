"""The small page where a vendor lead (their vendor's) or the program manager (theirs) keeps canned responses."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.exceptions import NotFound, PortalError
from portal.forms import apply_portal_error
from portal.http import AuthenticatedHttpRequest

from .forms import CannedResponseForm
from .models import CannedResponse
from .services import canned_create, canned_delete, canned_manages, canned_update


def _manager(request: AuthenticatedHttpRequest) -> None:
    if not canned_manages(request.user):
        raise PermissionDenied("Only the program manager and vendor leads keep canned responses.")


@login_required
def canned_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The manager's set, with a form to add one."""
    _manager(request)
    form = CannedResponseForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                canned = canned_create(actor=request.user, **form.cleaned_data)
            except PortalError as exc:
                apply_portal_error(form, exc)
            else:
                messages.success(request, f"Saved “{canned.title}”.")
                return redirect("canned-list")
        status = 400
    context = {"responses": CannedResponse.objects.managed_by(request.user), "form": form}
    return render(request, "canned/cannedresponse_list.html", context, status=status)


@login_required
def canned_edit(request: AuthenticatedHttpRequest, canned_id: int) -> HttpResponse:
    _manager(request)
    canned = CannedResponse.objects.managed_by(request.user).filter(pk=canned_id).first()
    if canned is None:
        raise Http404("No such canned response.")
    form = CannedResponseForm(request.POST or None, initial={"title": canned.title, "body": canned.body})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                canned_update(canned.pk, actor=request.user, **form.cleaned_data)
            except PortalError as exc:
                apply_portal_error(form, exc)
            else:
                messages.success(request, "Saved.")
                return redirect("canned-list")
        status = 400
    return render(request, "canned/cannedresponse_form.html", {"canned": canned, "form": form}, status=status)


@login_required
@require_POST
def canned_remove(request: AuthenticatedHttpRequest, canned_id: int) -> HttpResponse:
    _manager(request)
    try:
        canned_delete(canned_id, actor=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, "Deleted.")
    return redirect("canned-list")
