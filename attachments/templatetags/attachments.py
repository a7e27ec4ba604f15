"""The request page's attachments card, without the request app importing this one."""

from __future__ import annotations

from typing import Any

from django import template

from ..forms import AttachmentForm
from ..selectors import attachments_for_page

register = template.Library()


@register.inclusion_tag("attachments/partials/attachments.html", takes_context=True)
def request_attachments(context: dict[str, Any], service_request: Any) -> dict[str, Any]:
    user = context["request"].user
    return {
        "service_request": service_request,
        "attachments": attachments_for_page(service_request, user),
        "form": AttachmentForm(),
        "csrf_token": context.get("csrf_token"),
    }
