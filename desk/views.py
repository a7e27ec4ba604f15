"""Browser endpoints of the desk: save, default and delete a view; run a bulk action and show what happened."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.exceptions import PortalError, ValidationFailed
from portal.http import AuthenticatedHttpRequest

from . import services
from .forms import BulkForm, SavedViewForm
from .models import ListName, SavedView
from .params import view_query

LIST_URLS = {
    ListName.REQUESTS: "home",
    ListName.QUEUE: "vendor-queue",
    ListName.TRIAGE: "triage-inbox",
    ListName.APPROVALS: "approvals",
}


def _back(request: AuthenticatedHttpRequest, fallback: str = "home") -> HttpResponse:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)


def _safe_next(request: AuthenticatedHttpRequest) -> str:
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""


def _list_url(view: SavedView) -> str:
    from django.urls import reverse

    return f"{reverse(LIST_URLS.get(ListName(view.list_name), 'home'))}?view={view.pk}"


@login_required
@require_POST
def saved_view_save(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Save the list's current filters and sort under a name, then open it."""
    form = SavedViewForm(request.POST)
    if not form.is_valid() or form.cleaned_data["list_name"] not in ListName.values:
        messages.error(request, "Give the view a name.")
        return _back(request)
    data = form.cleaned_data
    try:
        view = services.saved_view_create(
            owner=request.user,
            name=data["name"],
            query=view_query(QueryDict(data["query"])),
            list_name=data["list_name"],
            sharing=data["sharing"],
            is_default=data["is_default"],
        )
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return _back(request)
    messages.success(request, f"Saved the view “{view.name}”" + (", your default." if view.is_default else "."))
    return redirect(_list_url(view))


def _own_view(request: AuthenticatedHttpRequest, pk: int) -> SavedView:
    view = SavedView.objects.visible_to(request.user).filter(pk=pk).first()
    if view is None:
        raise Http404("No such view.")
    return view


@login_required
@require_POST
def saved_view_default(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Make a view of mine the one the list opens with (or stop it being that)."""
    view = _own_view(request, pk)
    make = request.POST.get("is_default", "on") == "on"
    try:
        services.saved_view_update(view, actor=request.user, is_default=make)
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"“{view.name}” " + ("opens by default now." if make else "is no longer the default.")
        )
    return redirect(_list_url(view))


@login_required
@require_POST
def saved_view_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    view = _own_view(request, pk)
    try:
        services.saved_view_delete(view, actor=request.user)
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Deleted the view “{view.name}”.")
    return _back(request)


@login_required
@require_POST
def bulk(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Run one action on the ticked rows; the result lists each row, done or refused and why."""
    form = BulkForm(request.POST)
    outcomes, error = [], ""
    if not form.is_valid():
        error = "Choose an action."
    else:
        try:
            outcomes = services.requests_bulk(
                actor=request.user,
                action=form.cleaned_data["action"],
                references=form.references,
                params={k: form.cleaned_data[k] for k in ("priority", "vendor", "assignee", "reason")},
            )
        except ValidationFailed as exc:
            error = exc.message
    context = {
        "outcomes": outcomes,
        "error": error,
        "done": [o for o in outcomes if o.ok],
        "refused": [o for o in outcomes if not o.ok],
        "action": services.BULK_ACTIONS.get(form.cleaned_data.get("action", ""), "") if form.is_valid() else "",
        "next": _safe_next(request),
    }
    template = "desk/partials/bulk_result.html" if request.htmx else "desk/bulk_result.html"
    return render(request, template, context, status=400 if error else 200)
