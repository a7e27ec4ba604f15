"""People the conversations tests add to the shared world: a second member of the requester's team, and a
watcher who may see every request (the view-all permission alone: neither program manager nor eGov DevOps)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission

from requests_app.models import RequestEvent, ServiceRequest
from requests_app.tests import factories as f


def add_teammate(world: Any) -> Any:
    mate = f.UserFactory(username="mate")
    world.team_a.members.add(mate)
    return mate


def add_view_all_watcher(world: Any) -> Any:
    wendy = f.UserFactory(username="wendy")
    wendy.user_permissions.add(Permission.objects.get(codename="view_all_requests"))
    return wendy


def latest(service_request: ServiceRequest, kind: str) -> RequestEvent:
    return service_request.events.filter(kind=kind).latest("created_at", "pk")
