"""The comment box's canned-response picker, without the request app importing this one."""

from __future__ import annotations

from typing import Any

from django import template

from ..selectors import canned_for_page

register = template.Library()


@register.inclusion_tag("canned/partials/picker.html", takes_context=True)
def canned_picker(context: dict[str, Any], service_request: Any) -> dict[str, Any]:
    request = context["request"]
    return {
        "service_request": service_request,
        "responses": canned_for_page(request.user),
        "selected": request.GET.get("canned", ""),
    }
