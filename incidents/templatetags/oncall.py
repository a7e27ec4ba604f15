"""The request page's "on call now" panel, without the request app importing this one."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.utils import timezone

from requests_app.compiled import rows_of_request

from ..models import Page
from ..selectors import on_call_at

register = template.Library()


# The page reads these on every visit: compiled once per process (requests_app.compiled).
def _pages_of(viewer: None, request_id: int) -> Any:
    return Page.objects.filter(service_request=request_id).select_related("target", "acknowledged_by")


def _break_glass_grants_of(viewer: None, request_id: int) -> Any:
    from ..breakglass import break_glass_grants

    return break_glass_grants().filter(service_request=request_id)


@register.inclusion_tag("incidents/partials/panel.html")
def oncall_panel(service_request: Any) -> dict[str, Any]:
    """Whoever may see the request may see who answers for its vendor there; nothing without a staffed rota."""
    if not service_request.vendor_id:
        return {"on_call": None}
    return {"on_call": on_call_at(service_request.vendor, service_request.environment, timezone.now())}


@register.inclusion_tag("incidents/partials/pages.html", takes_context=True)
def pages_panel(context: dict[str, Any], service_request: Any) -> dict[str, Any]:
    """Who was paged for the request and whether they answered; the paged person gets the acknowledge button."""
    from ..breakglass import break_glass_allowed

    user = context["request"].user
    pages = rows_of_request(_pages_of, service_request.pk)
    return {
        "request": context["request"],
        "csrf_token": context.get("csrf_token"),
        "sr": service_request,
        "pages": pages,
        "user": user,
        "answered": any(page.acknowledged_at for page in pages),
        "break_glass_grants": rows_of_request(_break_glass_grants_of, service_request.pk),
        "break_glass_allowed": break_glass_allowed(service_request, user),
        "max_hours": settings.PORTICO_BREAK_GLASS_MAX_HOURS,
    }


@register.inclusion_tag("incidents/partials/break_glass_reviews.html", takes_context=True)
def break_glass_reviews(context: dict[str, Any]) -> dict[str, Any]:
    """The approvals page's list of break-glass grants eGov DevOps has yet to review; overdue ones flagged."""
    from ..breakglass import break_glass_grants, review_due

    now = timezone.now()
    rows = [
        {"grant": grant, "due": review_due(grant), "overdue": review_due(grant) <= now}
        for grant in break_glass_grants().filter(reviewed_at__isnull=True).order_by("granted_at")
    ]
    return {"rows": rows, "csrf_token": context.get("csrf_token")}
