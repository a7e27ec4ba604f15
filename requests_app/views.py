"""Browser pages. Each starts from `visible_to(request.user)`, calls one service or selector, and renders."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from canned.selectors import canned_prefill
from desk.models import ListName
from desk.pages import desk_list
from desk.rows import DESK_ROWS, DeskSource, RowShape, attach_clocks, compiled_list, rows_by_ids
from desk.triage import TRIAGE_ROWS, triage_rows
from portal.exceptions import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.http import AuthenticatedHttpRequest
from requests_app.roles import Role, role_of
from sla.selectors import clock_snapshots
from sla.services import sla_extend

from . import permissions as perms
from . import services
from .catalogue import actions_for
from .compiled import request_for_page, timeline_for_page
from .form_choices import FormChoices
from .forms import (
    CONFIRMATIONS,
    CommentForm,
    ExtendDueForm,
    LinkForm,
    ParametersForm,
    RequestEditForm,
    ServiceRequestForm,
    TransitionForm,
    apply_portal_error,
)
from .models import RequestEvent, ServiceRequest
from .querysets import ServiceRequestQuerySet
from .search import search_snippets

PAGE_SIZE = 25
# Run by the system only; never offered as a button.
HIDDEN_TRANSITIONS = {"auto_close"}


def _visible(request: AuthenticatedHttpRequest) -> Any:
    return ServiceRequest.objects.visible_to(request.user).with_related()


def _request_or_404(request: AuthenticatedHttpRequest, reference: str) -> ServiceRequest:
    """`_visible(request)` with the request's clocks, their policy and the OLA's vendor (the page shows both clocks),
    read through queries compiled once per process (`compiled.py`)."""
    service_request = request_for_page(request.user, reference)
    if service_request is None:
        raise Http404("No ServiceRequest matches the given query.")
    return service_request


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
        capped = self.object_list.order_by()[: self.COUNT_CAP + 1]
        known = capped.known_count() if isinstance(capped, ServiceRequestQuerySet) else None
        counted = capped.count() if known is None else known
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


def _page_counted(request: AuthenticatedHttpRequest, counted: int) -> tuple[Page, int]:
    """The requested page of a list already counted (to the cap and one past it), its rows still to be read, and
    the offset of its first row."""
    paginator = CappedPaginator([], PAGE_SIZE)
    paginator.capped = counted > paginator.COUNT_CAP
    paginator.__dict__["count"] = min(counted, paginator.COUNT_CAP)  # the cached_property, already known
    page = paginator.get_page(request.GET.get("page"))
    return page, (page.number - 1) * paginator.per_page


def _compiled_page(
    request: AuthenticatedHttpRequest, source: DeskSource, sort: str, shape: RowShape = DESK_ROWS
) -> Page | None:
    """A page of the unfiltered list `source` in order `sort`, through its compiled queries (`desk.rows`): the
    count to the cap, then the page's rows as plain values (`shape`) with their clocks. None if it has none for
    this user."""
    compiled = compiled_list(source, request.user, sort, shape.fields)
    if compiled is None:
        return None
    values = compiled.values(request.user)
    page, bottom = _page_counted(request, compiled.counted.count(cap=CappedPaginator.COUNT_CAP + 1, **values))
    limit = min(PAGE_SIZE, page.paginator.count - bottom)
    rows = (
        [shape.make(values) for values in compiled.rows.rows(limit=limit, offset=bottom, **values)] if limit > 0 else []
    )
    attach_clocks(rows)
    page.object_list = rows
    return page


def _ranked_page(request: AuthenticatedHttpRequest, queryset: ServiceRequestQuerySet, searched: str) -> Page | None:
    """A page of a search listed best match first, read by its window's ids alone (`ranked_ids`; `desk.rows`): the
    count is theirs, the rows plain values with their clocks and snippets. None for any other list."""
    ids = queryset.ranked_ids()
    if ids is None:
        return None
    page, bottom = _page_counted(request, len(ids))
    found = rows_by_ids(ids[bottom : bottom + PAGE_SIZE], queryset.db)
    rows = [row for row, _ in found]
    attach_clocks(rows)
    _attach_snippets(request, rows, {row.pk: description for row, description in found}, searched, queryset.db)
    page.object_list = rows
    return page


def _attach_snippets(
    request: AuthenticatedHttpRequest, rows: Any, descriptions: dict[int, str], searched: str, using: str
) -> None:
    """Each row's `search_snippet`: its description and readable timeline around the match (`search_snippets`)."""
    snippets = search_snippets(descriptions, searched, user=request.user, using=using)
    for row in rows:
        row.search_snippet = snippets.get(row.pk)


def _desk_page(
    request: AuthenticatedHttpRequest,
    list_name: str,
    source: DeskSource,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    hide: tuple[str, ...] = (),
    rows: Any = None,
    shape: RowShape | None = DESK_ROWS,
) -> HttpResponse:
    """A desk list: urgency order by default (best match first for a search), sortable columns, quick filters,
    saved views and the bulk bar; a search shows each row's matching words. htmx swaps only the results
    (`hx-select`), so the page is rendered whole either way. An unfiltered list with a `shape` (the request table's
    by default) reads its page through compiled queries; `rows(page)` makes the template's rows from the page."""
    desk = desk_list(request, list_name, source, hide=hide, compiled=shape is not None)
    if isinstance(desk, HttpResponse):
        return desk  # the user's default view
    page = _compiled_page(request, source, desk.sort, shape) if desk.queryset is None and shape else None
    searched = desk.form.cleaned_data.get("search", "") if desk.form.is_valid() else ""
    if page is None and shape is DESK_ROWS and rows is None and isinstance(desk.queryset, ServiceRequestQuerySet):
        page = _ranked_page(request, desk.queryset, searched)
    if page is None:
        listed = desk.queryset if desk.queryset is not None else source.queryset(request.user)
        page = _requests_page(request, listed)
        if searched:
            _attach_snippets(request, page, {row.pk: row.description for row in page}, searched, listed.db)
    desk.page = page
    full = {"desk": desk, "page": page, "form": desk.form, **(context or {})}
    if rows is not None:
        full["rows"] = rows(page)
    return render(request, template, full)


# What each list shows of the requests the user may see.
REQUESTS = DeskSource(lambda visible, user: visible)
QUEUE = DeskSource(lambda visible, user: visible.filter(vendor_id=user.vendor_id).open(), by_vendor=True)
TRIAGE = DeskSource(lambda visible, user: visible.awaiting_triage())
APPROVALS = DeskSource(lambda visible, user: visible.awaiting_approval())


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The requests the viewer can see, most urgent first, searchable and filterable."""
    heading = LIST_HEADINGS[role_of(request.user)]
    return _desk_page(
        request, ListName.REQUESTS, REQUESTS, "requests_app/servicerequest_list.html", {"heading": heading}
    )


@login_required
def vendor_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A vendor's open work, most urgent first: breached, then the least time left on the clock that runs next."""
    if not request.user.vendor_id:
        raise PermissionDenied("The queue is for vendor engineers and leads.")
    return _desk_page(request, ListName.QUEUE, QUEUE, "requests_app/servicerequest_queue.html", hide=("vendor",))


def _rows_with_form(
    request: AuthenticatedHttpRequest, page: Page, name: str, *, key: str, choices: FormChoices
) -> list[dict[str, Any]]:
    """Each row of a working list with the one transition's form it offers inline (ids unique per row)."""
    spec = services.TRANSITIONS[name]
    return [
        {
            "service_request": service_request,
            key: TransitionForm(
                name=name,
                spec=spec,
                service_request=service_request,
                user=request.user,
                choices=choices,
                auto_id=f"id_%s_{service_request.pk}",
            ),
        }
        for service_request in page
    ]


@login_required
def triage_inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The program manager's submitted requests, most urgent first, each with its routing suggestion."""
    if not perms.is_program_manager(request.user):
        raise PermissionDenied("The triage inbox is for the program manager.")

    return _desk_page(
        request,
        ListName.TRIAGE,
        TRIAGE,
        "requests_app/servicerequest_triage.html",
        hide=("state", "assignee", "quick", "vendor"),
        rows=triage_rows,  # each row's form written out (`desk.triage`); a triage POST goes through TransitionForm
        shape=TRIAGE_ROWS,
    )


@login_required
def approvals(request: AuthenticatedHttpRequest) -> HttpResponse:
    """eGov DevOps' requests waiting for approval, most urgent first."""
    if not perms.is_egov_devops(request.user):
        raise PermissionDenied("Approvals are for eGov DevOps.")

    def rows(page: Page) -> list[dict[str, Any]]:
        return _rows_with_form(request, page, "deny", key="deny_form", choices=FormChoices())

    return _desk_page(
        request,
        ListName.APPROVALS,
        APPROVALS,
        "requests_app/servicerequest_approvals.html",
        hide=("state", "quick"),
        rows=rows,
        shape=None,
    )


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
    choices = FormChoices()
    for name in services.allowed_transitions(service_request, request.user):
        if name in HIDDEN_TRANSITIONS:
            continue
        if bound is not None and bound.name == name:
            forms.append(bound)
            continue
        spec = services.TRANSITIONS[name]
        forms.append(
            TransitionForm(name=name, spec=spec, service_request=service_request, user=request.user, choices=choices)
        )
    if bound is not None and bound not in forms:
        forms.append(bound)  # keep the user's input and errors on screen even if the action went away
    return forms


def _timeline(request: AuthenticatedHttpRequest, service_request: ServiceRequest) -> list[RequestEvent]:
    return timeline_for_page(request.user, service_request)


def _detail(
    request: AuthenticatedHttpRequest,
    service_request: ServiceRequest,
    *,
    bound: TransitionForm | None = None,
    comment_form: CommentForm | None = None,
    link_form: LinkForm | None = None,
    extend_form: ExtendDueForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "links": services.links_of(service_request, user=request.user),
        "link_form": link_form or LinkForm(),
        "service_request": service_request,
        "actions": _action_forms(request, service_request, bound),
        "events": _timeline(request, service_request),
        "comment_form": comment_form
        or CommentForm(
            service_request=service_request,
            user=request.user,
            # ?canned=<id> (the picker without JavaScript) starts the comment from that canned response's text.
            initial={"body": canned_prefill(request.user, request.GET.get("canned"))},
        ),
        "sees_internal": perms.sees_internal_notes(service_request, request.user),
        "can_edit": bool(services.request_editable_fields(service_request, request.user)),
        "extend_form": extend_form
        or (ExtendDueForm() if perms.is_program_manager(request.user) and service_request.is_open else None),
    }
    return render(request, "requests_app/servicerequest_detail.html", context, status=status)


@login_required
def request_detail(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """One request: header, due times, actions, timeline and comments."""
    return _detail(request, _request_or_404(request, reference))


def _done_message(name: str, spec: services.TransitionSpec, service_request: ServiceRequest) -> str:
    """Say what changed: who has the request now, or which state it is in."""
    reference = service_request.reference
    if name == "reassign":
        if service_request.assignee:
            return f"{reference} is assigned to {service_request.assignee}."
        return f"{reference} is back in {service_request.vendor}'s queue, unassigned."
    if name in {"cancel", "reject", "deny"}:
        return f"{reference} is {service_request.get_state_display().lower()}; its SLA clocks are stopped."
    return f"{spec.label}: {reference} is now {service_request.get_state_display().lower()}."


def _confirm_page(
    request: AuthenticatedHttpRequest, service_request: ServiceRequest, form: TransitionForm
) -> HttpResponse:
    context = {"service_request": service_request, "form": form, "next": request.POST.get("next", "")}
    return render(request, "requests_app/servicerequest_confirm.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def request_transition(request: AuthenticatedHttpRequest, reference: str, name: str) -> HttpResponse:
    """Run one workflow action through its service, then go back (PRG) with a message. A destructive action asks
    first: a GET, or a POST without `confirmed` (no JavaScript to open the dialog), shows a confirmation page."""
    if request.method == "GET" and name not in CONFIRMATIONS:
        return HttpResponseNotAllowed(["POST"])  # only the actions that ask first have a page of their own
    service_request = _request_or_404(request, reference)
    spec = services.TRANSITIONS.get(name)
    if spec is None or name in HIDDEN_TRANSITIONS:
        raise Http404("No such action.")
    if request.method == "GET":
        form = TransitionForm(name=name, spec=spec, service_request=service_request, user=request.user)
        if form.confirmation is None or name not in services.allowed_transitions(service_request, request.user):
            return HttpResponseNotAllowed(["POST"])
        return _confirm_page(request, service_request, form)
    form = TransitionForm(request.POST, name=name, spec=spec, service_request=service_request, user=request.user)
    if form.is_valid() and form.confirmation and request.POST.get("confirmed") != "yes":
        return _confirm_page(request, service_request, form)
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
            messages.success(request, _done_message(name, spec, service_request))
            return _back(request, service_request)
    messages.error(request, f"{spec.label}: please correct the highlighted fields.")
    return _detail(request, service_request, bound=form)


@login_required
@require_POST
def request_extend(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """The program manager extends one SLA due time, with a reason; 403 for anyone else."""
    service_request = _request_or_404(request, reference)
    if not perms.is_program_manager(request.user):
        raise PermissionDenied("Only the program manager can extend a due time.")
    form = ExtendDueForm(request.POST)
    if form.is_valid():
        try:
            sla_extend(service_request, actor=request.user, **form.service_arguments())
        except ValidationFailed as exc:
            apply_portal_error(form, exc)
        else:
            messages.success(request, f"{service_request.reference}: the due time is extended.")
            return redirect(reverse("request-detail", args=[service_request.reference]))
    messages.error(request, "Extend a due time: please correct the highlighted fields.")
    return _detail(request, service_request, extend_form=form, status=400)


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


@login_required
@require_POST
def request_link_add(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Link this request to another one the user can see; errors come back on the page."""
    service_request = _request_or_404(request, reference)
    form = LinkForm(request.POST)
    if form.is_valid():
        try:
            services.link_add(
                actor=request.user,
                service_request=service_request,
                relation=form.cleaned_data["relation"],
                other_reference=form.cleaned_data["other"],
            )
        except ValidationFailed as exc:
            apply_portal_error(form, exc)
        else:
            messages.success(request, f"Linked {service_request.reference} to {form.cleaned_data['other'].upper()}.")
            return redirect(reverse("request-detail", args=[service_request.reference]) + "#links")
    messages.error(request, "Add link: please correct the highlighted fields.")
    return _detail(request, service_request, link_form=form)


@login_required
@require_POST
def request_link_remove(request: AuthenticatedHttpRequest, reference: str, link_id: int) -> HttpResponse:
    """Remove one of this request's links (one to a request the user cannot see does not exist for them)."""
    service_request = _request_or_404(request, reference)
    try:
        services.link_remove(actor=request.user, service_request=service_request, link_id=link_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, "Link removed.")
    return redirect(reverse("request-detail", args=[service_request.reference]) + "#links")


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


# --- editing --------------------------------------------------------------------------------------------
@login_required
def request_edit(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Edit an open request's details (the requester's team; the PM also priority and type, with a reason) and its
    automation parameters, through the same service as the API's PATCH."""
    service_request = _request_or_404(request, reference)
    editable = services.request_editable_fields(service_request, request.user)
    if not editable:
        if not service_request.is_open:
            messages.error(request, f"{service_request.reference} is closed to edits.")
            return redirect("request-detail", reference=service_request.reference)
        raise PermissionDenied("Only the requester's team or the program manager can edit a request.")
    offered = actions_for(service_request.request_type)
    action = offered[0] if offered and "parameters" in editable else None
    which = request.POST.get("form") if request.method == "POST" else None
    form = RequestEditForm(
        request.POST if which == "details" else None, service_request=service_request, editable=editable
    )
    parameters_form = None
    if action is not None:
        parameters_form = ParametersForm(
            request.POST if which == "parameters" else None, action=action, parameters=service_request.parameters
        )
    bound = form if which == "details" else parameters_form if which == "parameters" else None
    if bound is not None and bound.is_valid():
        arguments: dict[str, Any]
        if isinstance(bound, ParametersForm):
            arguments = {"changes": {"parameters": bound.parameters()}, "reason": ""}
        else:
            arguments = form.service_arguments()
        try:
            services.request_update(service_request, actor=request.user, **arguments)
        except ValidationFailed as exc:
            if isinstance(bound, ParametersForm):
                bound.add_service_error(exc)
            else:
                apply_portal_error(form, exc)
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("request-detail", reference=service_request.reference)
        else:
            what = "Details" if bound is form else "Automation parameters"
            messages.success(request, f"{what} of {service_request.reference} saved.")
            return redirect("request-detail", reference=service_request.reference)
    context = {"service_request": service_request, "form": form, "parameters_form": parameters_form}
    return render(request, "requests_app/servicerequest_edit.html", context)
