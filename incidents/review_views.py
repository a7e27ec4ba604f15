"""The hypercare report and the post-incident review pages, under the request they belong to."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.exceptions import NotFound, PortalError, ValidationFailed
from portal.forms import apply_portal_error
from portal.http import AuthenticatedHttpRequest
from requests_app import permissions as perms
from requests_app.models import ServiceRequest

from . import hypercare, reviews
from .review_forms import ActionItemForm, HypercareOpenForm, ReviewForm
from .review_models import IncidentReview


def _request(request: AuthenticatedHttpRequest, reference: str) -> ServiceRequest:
    try:
        return reviews.request_visible(request.user, reference)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _back(reference: str) -> HttpResponse:
    return redirect("request-detail", reference=reference)


@login_required
@require_GET
def hypercare_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every window the reader can see, newest first, with its production issues and counts by priority."""
    windows = [(w, hypercare.priority_counts(w)) for w in hypercare.hypercare_windows(user=request.user)]
    return render(request, "incidents/hypercare_list.html", {"windows": windows})


@login_required
@require_POST
def request_hypercare_open(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Open the request's hypercare window from its page (the PM or the requester's team)."""
    service_request = _request(request, reference)
    form = HypercareOpenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Hypercare: " + " ".join(str(e) for errors in form.errors.values() for e in errors))
        return _back(reference)
    try:
        window = hypercare.hypercare_open(service_request, actor=request.user, **form.cleaned_data)
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Hypercare is open for {window.days} days.")
    return _back(reference)


def _review_page(
    request: AuthenticatedHttpRequest,
    review: IncidentReview,
    *,
    form: ReviewForm | None = None,
    item_form: ActionItemForm | None = None,
    status: int = 200,
) -> HttpResponse:
    service_request = review.service_request
    can_edit = reviews.review_can_edit(review, request.user)
    initial = {name: getattr(review, name) for name in reviews.EDITABLE_FIELDS}
    context: dict[str, Any] = {
        "review": review,
        "sr": service_request,
        "action_items": review.action_items.select_related("follow_up", "owner", "follow_up__team"),
        "can_edit": can_edit,
        # Vendor accounts write the findings but never file requests, so they get no action-item form.
        "can_add_items": can_edit and perms.files_requests(request.user),
        "can_publish": reviews.review_can_publish(review, request.user),
        "form": form or ReviewForm(initial=initial),
        "item_form": item_form or ActionItemForm(service_request=service_request),
    }
    return render(request, "incidents/review_detail.html", context, status=status)


def _review(request: AuthenticatedHttpRequest, reference: str) -> IncidentReview:
    try:
        return reviews.review_for(_request(request, reference), user=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@login_required
def request_review(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """The review: its timeline, findings (a form while it is a draft), action items and publishing."""
    review = _review(request, reference)
    if request.method != "POST":
        return _review_page(request, review)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            reviews.review_update(review, actor=request.user, changes=form.cleaned_data)
        except ValidationFailed as exc:
            apply_portal_error(form, exc)
        except PortalError as exc:
            messages.error(request, exc.message)
            return redirect("request-review", reference=reference)
        else:
            messages.success(request, "Saved the review.")
            return redirect("request-review", reference=reference)
    return _review_page(request, review, form=form, status=400)


@login_required
@require_POST
def request_review_open(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """Open the review on demand (it opens by itself when a P0/P1 production issue is resolved)."""
    try:
        reviews.review_open(_request(request, reference), actor=request.user)
    except PortalError as exc:
        messages.error(request, exc.message)
        return _back(reference)
    return redirect("request-review", reference=reference)


@login_required
@require_POST
def request_review_publish(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    try:
        reviews.review_publish(_review(request, reference), actor=request.user)
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Published the review.")
    return redirect("request-review", reference=reference)


@login_required
@require_POST
def request_review_action_item(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
    """File an action item as a follow-up request."""
    review = _review(request, reference)
    form = ActionItemForm(request.POST, service_request=review.service_request)
    if form.is_valid():
        try:
            item = reviews.review_action_item_add(review, actor=request.user, team=None, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_portal_error(form, exc)
        except PortalError as exc:
            messages.error(request, exc.message)
            return redirect("request-review", reference=reference)
        else:
            messages.success(request, f"Filed {item.follow_up.reference} for the action.")
            return redirect("request-review", reference=reference)
    return _review_page(request, review, item_form=form, status=400)
