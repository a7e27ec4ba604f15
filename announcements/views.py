"""The management area's announcements (post, change, withdraw, see who has read each) and a partner's
acknowledgement from the banner."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from backoffice.permissions import can_manage
from backoffice.sections import SECTIONS
from backoffice.views import require_management
from portal.exceptions import NotFound, PortalError
from portal.forms import apply_portal_error
from portal.http import AuthenticatedHttpRequest

from .forms import AnnouncementEditForm, AnnouncementForm, WithdrawForm
from .models import Announcement
from .selectors import announcement_read_status
from .services import announcement_acknowledge, announcement_delete, announcement_post, announcement_update


def _require_manager(request: AuthenticatedHttpRequest) -> None:
    require_management(request)
    if not can_manage(request.user):
        raise PermissionDenied("Only the program manager posts announcements.")


def _announcement(announcement_id: int) -> Announcement:
    announcement = Announcement.objects.select_related("posted_by").filter(pk=announcement_id).first()
    if announcement is None:
        raise Http404("No such announcement.")
    return announcement


@login_required
def announcement_manage(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_management(request)
    announcements = Announcement.objects.select_related("posted_by").annotate(read=Count("acknowledgements"))
    context = {"announcements": announcements, "can_manage": can_manage(request.user), "sections": SECTIONS}
    return render(request, "announcements/announcement_list.html", context)


@login_required
def announcement_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_manager(request)
    form = AnnouncementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            announcement = announcement_post(actor=request.user, **form.cleaned_data)
        except PortalError as exc:
            apply_portal_error(form, exc)
        else:
            messages.success(request, f"Posted “{announcement.title}”.")
            return redirect("announcement-detail", announcement.pk)
    context = {"form": form, "announcement": None, "sections": SECTIONS}
    return render(request, "announcements/announcement_form.html", context, status=400 if form.errors else 200)


def _detail(request: AuthenticatedHttpRequest, announcement: Announcement, **extra: Any) -> dict[str, Any]:
    return {
        "announcement": announcement,
        "status": announcement_read_status(announcement),
        "can_manage": can_manage(request.user),
        "withdraw_form": WithdrawForm(),
        "sections": SECTIONS,
        **extra,
    }


@login_required
def announcement_detail(request: AuthenticatedHttpRequest, announcement_id: int) -> HttpResponse:
    """The announcement as partners see it, who acknowledged it and when, and who has not yet."""
    require_management(request)
    announcement = _announcement(announcement_id)
    return render(request, "announcements/announcement_detail.html", _detail(request, announcement))


@login_required
def announcement_edit(request: AuthenticatedHttpRequest, announcement_id: int) -> HttpResponse:
    _require_manager(request)
    announcement = _announcement(announcement_id)
    initial = {
        "title": announcement.title,
        "body": announcement.body,
        "audience": announcement.audience,
        "vendors": announcement.vendors.all(),
        "environments": announcement.environments.all(),
        "expires_at": announcement.expires_at,
    }
    form = AnnouncementEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        reason = fields.pop("reason")
        if fields["expires_at"] == announcement.expires_at:
            del fields["expires_at"]  # unchanged, so an expiry already past does not block other edits
        try:
            announcement_update(announcement.pk, actor=request.user, reason=reason, **fields)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PortalError as exc:
            apply_portal_error(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("announcement-detail", announcement.pk)
    context = {"form": form, "announcement": announcement, "sections": SECTIONS}
    return render(request, "announcements/announcement_form.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def announcement_withdraw(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    announcement = _announcement(pk)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            announcement_delete(announcement.pk, actor=request.user, reason=form.cleaned_data["reason"])
        except NotFound as exc:
            raise Http404(exc.message) from exc
        messages.success(request, f"Withdrew “{announcement.title}”.")
        return redirect("announcement-manage")
    context = _detail(request, announcement, withdraw_form=form)
    return render(request, "announcements/announcement_detail.html", context, status=400)


@login_required
@require_POST
def announcement_ack(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The banner's button: acknowledged, and back to the page it was pressed on."""
    try:
        announcement_acknowledge(pk, actor=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = "/"
    return redirect(next_url)
