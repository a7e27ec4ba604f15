"""Browser pages. Each starts from `visible_to(request.user)`, calls one service or selector, and renders."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.exceptions import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.http import AuthenticatedHttpRequest
from requests_app.roles import Role, role_of
from sla.selectors import clock_snapshots

from . import notifications, services
from . import permissions as perms
from .forms import CommentForm, ServiceRequestFilterForm, ServiceRequestForm, TransitionForm, apply_portal_error
from .models import RequestEvent, ServiceRequest
from .routing import routing_suggest
from .search import search_snippets

PAGE_SIZE = 25
# Run by the system only; never offered as a button.
HIDDEN_TRANSITIONS = {"auto_close"}


def _visible(request: AuthenticatedHttpRequest) -> Any:
    return ServiceRequest.objects.visible_to(request.user).with_related()


def _request_or_404(request: AuthenticatedHttpRequest, reference: str) -> ServiceRequest:
    # The page shows both clocks with their policy and the OLA's vendor.
    return get_object_or_404(
        _visible(request).prefetch_related("clocks__policy", "clocks__vendor"), reference=reference
    )


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP rows: counting a vendor's whole history (400,000 requests in the benchmark), or
    even a 10,000-request queue, took longer than the rest of the page. Past the cap the page says "1,000+",
    pages stop at the cap, and the filters narrow the list."""

    COUNT_CAP = 1_000
    capped = False
    object_list: QuerySet[Any]  # only querysets: the cap is applied in the database

    @cached_property
    def count(self) -> int:
        # Unordered, so PostgreSQL can stop after the cap instead of sorting every row first.
        counted = self.object_list.order_by()[: self.COUNT_CAP + 1].count()
        self.capped = counted > self.COUNT_CAP
        return min(counted, self.COUNT_CAP)

    @property
    def count_label(self) -> str:
        return f"{self.count:,}+" if self.count and self.capped else f"{self.count:,}"


def _page(request: AuthenticatedHttpRequest, queryset: Any) -> Page:
    return CappedPaginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _requests_page(request: AuthenticatedHttpRequest, queryset: Any) -> Page:
    """A page of requests; every row shows its SLA badge, so the page's clocks are read in one flat query."""
    page = _page(request, queryset)
    snapshots = clock_snapshots(row.pk for row in page)
    for row in page:
        row.clock_snapshots = snapshots.get(row.pk, [])  # what `sla_summary` reads before `clocks.all()`
    return page


def _back(request: AuthenticatedHttpRequest, service_request: ServiceRequest) -> HttpResponse:
    """Where a POST returns to: a same-site `next` (the queue, the inbox) or the request page."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("request-detail", reference=service_request.reference)


# --- lists ----------------------------------------------------------------------------------------------
LIST_HEADINGS = {
    Role.REQUESTER: "My team's requests",
    Role.VENDOR_ENGINEER: "My vendor's requests",
    Role.VENDOR_LEAD: "My vendor's requests",
    Role.PROGRAM_MANAGER: "All requests",
    Role.EGOV_DEVOPS: "All requests",
}


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The requests the viewer can see, searchable and filterable."""
    form = ServiceRequestFilterForm(request.GET or None)
    page = _requests_page(request, form.filter(_visible(request), user=request.user))
    searched = form.cleaned_data.get("search", "") if form.is_valid() else ""
    snippets = search_snippets(page, searched, user=request.user)
    for row in page:
        row.search_snippet = snippets.get(row.pk)
    context = {"form": form, "page": page, "heading": LIST_HEADINGS[role_of(request.user)]}
    return render(request, "requests_app/servicerequest_list.html", context)


@login_required
def vendor_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A vendor's open work, soonest response due first."""
    if not request.user.vendor_id:
        raise PermissionDenied("The queue is for vendor engineers and leads.")
    page = _requests_page(request, _visible(request).queue_for(request.user.vendor_id))
    return render(request, "requests_app/servicerequest_queue.html", {"page": page})


@login_required
def triage_inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The program manager's submitted requests, oldest first, each with its routing suggestion."""
    if not perms.is_program_manager(request.user):
        raise PermissionDenied("The triage inbox is for the program manager.")
    page = _requests_page(request, _visible(request).awaiting_triage().order_by("created_at", "pk"))
    spec = services.TRANSITIONS["triage"]
    rows = [
        {
            "service_request": service_request,
            "suggestion": routing_suggest(service_request),
            "form": TransitionForm(
                name="triage",
                spec=spec,
                service_request=service_request,
                user=request.user,
                auto_id=f"id_%s_{service_request.pk}",
            ),
        }
        for service_request in page
    ]
    return render(request, "requests_app/servicerequest_triage.html", {"page": page, "rows": rows})


@login_required
def approvals(request: AuthenticatedHttpRequest) -> HttpResponse:
    """eGov DevOps' requests waiting for approval, oldest first."""
    if not perms.is_egov_devops(request.user):
        raise PermissionDenied("Approvals are for eGov DevOps.")
    page = _requests_page(request, _visible(request).awaiting_approval().order_by("created_at", "pk"))
    spec = services.TRANSITIONS["deny"]
    rows = [
        {
            "service_request": service_request,
            "deny_form": TransitionForm(
                name="deny",
                spec=spec,
                service_request=service_request,
                user=request.user,
                auto_id=f"id_%s_{service_request.pk}",
            ),
        }
        for service_request in page
    ]
    return render(request, "requests_app/servicerequest_approvals.html", {"page": page, "rows": rows})


# --- filing ---------------------------------------------------------------------------------------------
@login_required
def request_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """File a request; works without JavaScript, htmx only adds inline checks."""
    if request.method != "POST" and not perms.files_requests(request.user):
        # Don't offer a form that can only fail; a POST still reaches request_file, which says why (403).
        raise PermissionDenied("Only members of an implementation team can file requests; vendors work them.")
    form = ServiceRequestForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            service_request = services.request_file(actor=request.user, **form.service_arguments())
        except ValidationFailed as exc:
            form.add_service_error(exc)
        except Forbidden as exc:
            messages.error(request, exc.message)
            status = 403
        else:
            messages.success(request, f"{service_request.reference} is filed; the program manager will triage it.")
            return redirect("request-detail", reference=service_request.reference)
    return render(request, "requests_app/servicerequest_form.html", {"form": form}, status=status)


@login_required
@require_POST
def request_new_validate(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Re-render one field of the new-request form with its errors (htmx, on change)."""
    form = ServiceRequestForm(request.POST, user=request.user)
    name = request.GET.get("field", "")
    if name not in form.fields:
        raise Http404("No such field.")
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    if name == "needed_by" and data.get("priority") and data.get("environment") and "needed_by" in data:
        try:
            services.request_needed_by_check(
                priority=data["priority"], needed_by=data["needed_by"], environment=data["environment"]
            )
        except ValidationFailed as exc:
            apply_portal_error(form, exc)
    return render(request, "requests_app/partials/form_field_body.html", {"field": form[name]})


# --- one request ----------------------------------------------------------------------------------------
def _action_forms(
    request: AuthenticatedHttpRequest, service_request: ServiceRequest, bound: TransitionForm | None = None
) -> list[TransitionForm]:
    forms = []
    for name in services.allowed_transitions(service_request, request.user):
        if name in HIDDEN_TRANSITIONS:
            continue
        if bound is not None and bound.name == name:
            forms.append(bound)
            continue
        spec = services.TRANSITIONS[name]
        forms.append(TransitionForm(name=name, spec=spec, service_request=service_request, user=request.user))
    if bound is not None and bound not in forms:
        forms.append(bound)  # keep the user's input and errors on screen even if the action went away
    return forms


def _timeline(request: AuthenticatedHttpRequest, service_request: ServiceRequest) -> Any:
    return RequestEvent.objects.visible_to(request.user).filter(service_request=service_request).select_related("actor")


def _detail(
    request: AuthenticatedHttpRequest,
    service_request: ServiceRequest,
    *,
    bound: TransitionForm | None = None,
    comment_form: CommentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "service_request": service_request,
        "actions": _action_forms(request, service_request, bound),
        "events": _timeline(request, service_request),
        "comment_form": comment_form or CommentForm(service_request=service_request, user=request.user),
        "sees_internal": perms.sees_internal_notes(service_request, request.user),
    }
    return render(request, "requests_app/servicerequest_detail.html", context, status=status)


@login_required
def request_detail(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """One request: header, due times, actions, timeline and comments."""
    return _detail(request, _request_or_404(request, reference))


@login_required
@require_POST
def request_transition(request: AuthenticatedHttpRequest, reference: str, name: str) -> HttpResponse:
    """Run one workflow action through its service, then go back (PRG) with a message."""
    service_request = _request_or_404(request, reference)
    spec = services.TRANSITIONS.get(name)
    if spec is None or name in HIDDEN_TRANSITIONS:
        raise Http404("No such action.")
    form = TransitionForm(request.POST, name=name, spec=spec, service_request=service_request, user=request.user)
    if form.is_valid():
        try:
            service_request = spec.service(service_request, actor=request.user, **form.service_arguments())
        except ValidationFailed as exc:
            apply_portal_error(form, exc)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except (InvalidTransition, Forbidden, Conflict) as exc:
            messages.error(request, exc.message)
            return _back(request, service_request)
        else:
            state = service_request.get_state_display().lower()
            messages.success(request, f"{spec.label}: {service_request.reference} is now {state}.")
            return _back(request, service_request)
    messages.error(request, f"{spec.label}: please correct the highlighted fields.")
    return _detail(request, service_request, bound=form)


@login_required
@require_POST
def request_comment(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Add a comment; an htmx post gets the refreshed timeline back instead of a redirect."""
    service_request = _request_or_404(request, reference)
    form = CommentForm(request.POST, service_request=service_request, user=request.user)
    if form.is_valid():
        try:
            services.request_comment(
                service_request,
                actor=request.user,
                body=form.cleaned_data["body"],
                internal=form.cleaned_data.get("internal", False),
            )
        except ValidationFailed as exc:
            apply_portal_error(form, exc)
        else:
            if request.htmx:
                form = CommentForm(service_request=service_request, user=request.user)
                return _timeline_partial(request, service_request, form, announce="Comment added.")
            messages.success(request, "Comment added.")
            return redirect(reverse("request-detail", args=[service_request.reference]) + "#timeline")
    if request.htmx:
        return _timeline_partial(request, service_request, form)
    return _detail(request, service_request, comment_form=form)


def _timeline_partial(
    request: AuthenticatedHttpRequest, service_request: ServiceRequest, form: CommentForm, announce: str = ""
) -> HttpResponse:
    context = {
        "service_request": service_request,
        "events": _timeline(request, service_request),
        "comment_form": form,
        "announce": announce,
    }
    return render(request, "requests_app/partials/timeline.html", context)


# --- notifications --------------------------------------------------------------------------------------
@login_required
def notification_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """My notifications, newest first; reading the list marks nothing read."""
    queryset = notifications.notification_list(user=request.user).select_related(
        "event__actor", "event__service_request__vendor", "event__service_request__assignee"
    )
    page = _page(request, queryset)
    rows = [{"notification": n, "subject": notifications.notification_subject(n)} for n in page]
    return render(request, "requests_app/notification_list.html", {"page": page, "rows": rows})


@login_required
@require_POST
def notification_mark_all_read(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Mark every notification read, then back to the list."""
    changed = notifications.notifications_mark_read(user=request.user)
    messages.success(
        request, f"Marked {changed} notification{pluralize(changed)} read." if changed else "Nothing unread."
    )
    return redirect("notification-list")
