"""Template helpers for the runs panel, so any page can include it with just the request in its context."""

from __future__ import annotations

from typing import Any

from django import template

from portal.exceptions import NotFound
from provisioning.selectors import RunPlan, RunsPanel, run_plan, runs_panel
from requests_app.catalogue import action_named

register = template.Library()

STATUS_CLASSES = {
    "queued": "queued",
    "pending": "queued",
    "running": "in-progress",
    "succeeded": "resolved",
    "skipped": "closed",
    "failed": "blocked",
    "cancelled": "cancelled",
}
LINK_LABELS = {"pipeline": "Pipeline", "project": "Project", "build": "Build", "console": "Console log"}


@register.simple_tag(takes_context=True)
def runs_panel_for(context: Any, service_request: Any) -> RunsPanel:
    """The panel for the viewing user (the request in context decides who that is)."""
    return runs_panel(service_request, user=context["request"].user)


@register.filter
def run_status_class(status: str) -> str:
    """Reuse the request-state badge colours: running is blue, succeeded green, failed red."""
    return f"badge badge--state-{STATUS_CLASSES.get(status, 'queued')}"


@register.filter
def link_label(key: str) -> str:
    return LINK_LABELS.get(key, key.replace("_", " ").capitalize())


@register.simple_tag
def run_plan_for(service_request: Any) -> RunPlan | None:
    """What the request's automation would do if it started now (None when its type has no automation)."""
    return run_plan(service_request)


@register.filter
def parameter_label(name: str) -> str:
    return name.replace("_", " ").capitalize()


@register.filter
def parameter_value(value: Any) -> str:
    """Variables and job parameters as NAME=value pairs; everything else as it is."""
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items()) or "—"
    return str(value)


@register.filter
def action_label(name: str) -> str:
    """The catalogue's words for an action ("Create namespace with quota"), not its identifier."""
    try:
        return action_named(name).label
    except NotFound:  # an action since removed from the catalogue: its name is all there is
        return name.replace("_", " ").capitalize()
