"""The request page's hypercare and post-incident review panel, without the request app importing this one."""

from __future__ import annotations

from typing import Any

from django import template

from ..hypercare import hypercare_can_open
from ..hypercare_models import HypercareIssue, HypercareWindow
from ..review_forms import HypercareOpenForm
from ..review_models import IncidentReview
from ..reviews import review_needed

register = template.Library()


@register.inclusion_tag("incidents/partials/hypercare_panel.html", takes_context=True)
def incident_panel(context: dict[str, Any], service_request: Any) -> dict[str, Any]:
    """The request's window (or a form to open one), the windows it was filed in, and its review (or a button)."""
    user = context["request"].user
    window = HypercareWindow.objects.filter(service_request=service_request).first()
    links = HypercareIssue.objects.filter(service_request=service_request).select_related("window__service_request")
    review = IncidentReview.objects.filter(service_request=service_request).first()
    can_open = window is None and hypercare_can_open(service_request, user)
    return {
        "sr": service_request,
        "window": window,
        "links": list(links),
        "open_form": HypercareOpenForm() if can_open else None,
        "review": review,
        "can_review": review is None and review_needed(service_request),
        "csrf_token": context.get("csrf_token"),
    }
