from __future__ import annotations

from typing import Any

from django import template

from requests_app import permissions as perms
from requests_app.models import ServiceRequest

from ..models import RequestMute, Watcher

register = template.Library()


@register.simple_tag(takes_context=True)
def follow_state(context: Any, service_request: ServiceRequest) -> dict[str, Any]:
    """What the follow card shows the viewer: watching, muted, and whether they may copy the team."""
    user = context["request"].user
    return {
        "watching": Watcher.objects.filter(service_request=service_request, user=user).exists(),
        "muted": RequestMute.objects.filter(service_request=service_request, user=user).exists(),
        "watchers": service_request.watchers.count(),
        "can_copy_team": bool(service_request.team_id) and perms.is_requester_side(service_request, user),
    }
