"""The in-portal notification list (live), the account's notification settings, following a request, and the
program manager's list of deliveries that failed."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_GET, require_POST

from portal.exceptions import ValidationFailed
from portal.forms import apply_portal_error
from portal.http import AuthenticatedHttpRequest
from requests_app import notifications
from requests_app import permissions as perms
from requests_app.models import ServiceRequest
from requests_app.views import CappedPaginator

from . import preferences, watchers
from .delivery import troubled_chat_deliveries, troubled_deliveries
from .emails import notice_subject
from .forms import ChannelSettingsForm, MentionQueryForm, WatchForm

PAGE_SIZE = 25


def _rows(page: object) -> list[dict]:
    return [{"notification": n, "subject": n.summary or notice_subject(n.event)} for n in page]  # type: ignore[attr-defined]


@login_required
def notification_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """My notifications, newest first; reading the list marks nothing read. htmx polls it for the list alone."""
    queryset = notifications.notification_list(user=request.user).select_related(
        "event__actor", "event__service_request__vendor", "event__service_request__assignee"
    )
    page = CappedPaginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "rows": _rows(page), "poll_seconds": settings.PORTICO_NOTIFY_POLL_SECONDS}
    if request.htmx:
        return render(request, "conversations/partials/notification_items.html", context)
    return render(request, "conversations/notification_list.html", context)


@login_required
def notification_unread(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The navigation's notifications link with its unread count, which every page polls."""
    return render(request, "conversations/partials/nav_notifications.html")


@login_required
@require_POST
def notification_mark_all_read(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Mark every notification read, then back to the list."""
    changed = notifications.notifications_mark_read(user=request.user)
    messages.success(
        request, f"Marked {changed} notification{pluralize(changed)} read." if changed else "Nothing unread."
    )
    return redirect("notification-list")


@login_required
def notification_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """How I hear about requests: per channel, immediately, in a daily digest, or not at all."""
    form = ChannelSettingsForm(request.POST or None, initial=preferences.notification_settings(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            preferences.notification_settings_set(
                request.user,
                modes=form.modes(),
                chat_webhook_url=form.cleaned_data["chat_webhook_url"],
                chat_webhook_kind=form.cleaned_data["chat_webhook_kind"],
            )
        except ValidationFailed as exc:
            apply_portal_error(form, exc)
        else:
            messages.success(request, "Notification settings saved.")
            return redirect("notification-settings")
    muted = request.user.request_mutes.select_related("service_request").order_by("-created_at")
    watching = request.user.watching.select_related("service_request").order_by("-created_at")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "muted": muted, "watching": watching}
    return render(request, "conversations/notification_settings.html", context, status=status)


@login_required
@require_POST
def request_watch(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Watch, unwatch, mute, unmute a request, or copy the requester's team onto it."""
    service_request = get_object_or_404(ServiceRequest.objects.visible_to(request.user), reference=reference)
    form = WatchForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose what to do.")
        return redirect("request-detail", reference=reference)
    action = form.cleaned_data["action"]
    try:
        if action == "watch":
            watchers.watch(service_request, request.user)
            messages.success(request, f"You are watching {reference}.")
        elif action == "unwatch":
            watchers.unwatch(service_request, request.user)
            messages.success(request, f"You no longer watch {reference}.")
        elif action in ("mute", "unmute"):
            watchers.mute(service_request, request.user, muted=action == "mute")
            messages.success(request, f"{reference} is {'muted' if action == 'mute' else 'no longer muted'}.")
        else:
            added = watchers.copy_team(service_request, request.user)
            messages.success(request, f"Copied {added} team member{pluralize(added)} onto {reference}.")
    except ValidationFailed as exc:
        messages.error(request, exc.message)
    return redirect("request-detail", reference=reference)


@login_required
@require_GET
def request_mentionable(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """The comment box's @mention suggestions (an htmx partial): up to ten people a mention would reach."""
    service_request = get_object_or_404(ServiceRequest.objects.visible_to(request.user), reference=reference)
    form = MentionQueryForm(request.GET)
    if not form.is_valid():
        return render(request, "conversations/partials/mention_options.html", {"people": []}, status=400)
    people = watchers.mentionable(
        service_request, prefix=form.cleaned_data["q"], internal=form.cleaned_data["internal"]
    )
    return render(request, "conversations/partials/mention_options.html", {"people": people})


@login_required
def delivery_failures(request: AuthenticatedHttpRequest) -> HttpResponse:
    """For the program manager: e-mails and chat posts that failed, wait for a retry, or stopped mid-send."""
    if not perms.is_program_manager(request.user):
        raise PermissionDenied
    context = {"emails": troubled_deliveries()[:200], "chats": troubled_chat_deliveries()[:200]}
    return render(request, "conversations/delivery_failures.html", context)
