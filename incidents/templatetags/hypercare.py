"""The request page's hypercare and post-incident review panel, without the request app importing this one."""

from __future__ import annotations

from typing import Any

from django import template

from requests_app.compiled import first_of, rows_of_request

from ..hypercare import hypercare_can_open
from ..hypercare_models import HypercareIssue, HypercareWindow
from ..review_forms import HypercareOpenForm
from ..review_models import IncidentReview
from ..reviews import review_needed

register = template.Library()


# The page reads these on every visit: compiled once per process (requests_app.compiled).
def _window_of(viewer: None, request_id: int) -> Any:
    return first_of(HypercareWindow.objects.filter(service_request=request_id))


def _issues_of(viewer: None, request_id: int) -> Any:
    return HypercareIssue.objects.filter(service_request=request_id).select_related("window__service_request")


def _review_of(viewer: None, request_id: int) -> Any:
    return first_of(IncidentReview.objects.filter(service_request=request_id))


@register.inclusion_tag("incidents/partials/hypercare_panel.html", takes_context=True)
def incident_panel(context: dict[str, Any], service_request: Any) -> dict[str, Any]:
    """The request's window (or a form to open one), the windows it was filed in, and its review (or a button)."""
    user = context["request"].user
    window = next(iter(rows_of_request(_window_of, service_request.pk)), None)
    links = rows_of_request(_issues_of, service_request.pk)
    review = next(iter(rows_of_request(_review_of, service_request.pk)), None)
    can_open = window is None and hypercare_can_open(service_request, user)
    return {
        "sr": service_request,
        "window": window,
        "links": links,
        "open_form": HypercareOpenForm() if can_open else None,
        "review": review,
        "can_review": review is None and review_needed(service_request),
        "csrf_token": context.get("csrf_token"),
    }
