"""The request page's "on call now" panel, without the request app importing this one."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from ..selectors import on_call_at

register = template.Library()


@register.inclusion_tag("incidents/partials/panel.html")
def oncall_panel(service_request: Any) -> dict[str, Any]:
    """Whoever may see the request may see who answers for its vendor there; nothing without a staffed rota."""
    if not service_request.vendor_id:
        return {"on_call": None}
    return {"on_call": on_call_at(service_request.vendor, service_request.environment, timezone.now())}
