from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce

from requests_app import permissions as perms
from requests_app.models import ServiceRequest

from ..models import RequestMute, Watcher

register = template.Library()


@register.simple_tag(takes_context=True)
def follow_state(context: Any, service_request: ServiceRequest) -> dict[str, Any]:
    """What the follow card shows the viewer: watching, muted, and whether they may copy the team."""
    user = context["request"].user
    # One query for the three figures (three round trips before: the request page is read on every visit).
    mine = {"service_request": OuterRef("pk"), "user": user}
    watchers = Watcher.objects.filter(service_request=OuterRef("pk")).order_by().values("service_request")
    figures = (
        ServiceRequest.objects.filter(pk=service_request.pk)
        .values(
            watching=Exists(Watcher.objects.filter(**mine)),
            muted=Exists(RequestMute.objects.filter(**mine)),
            watcher_count=Coalesce(Subquery(watchers.annotate(n=Count("pk")).values("n")), 0),
        )
        .get()
    )
    return {
        "watching": figures["watching"],
        "muted": figures["muted"],
        "watchers": figures["watcher_count"],
        "can_copy_team": bool(service_request.team_id) and perms.is_requester_side(service_request, user),
    }
