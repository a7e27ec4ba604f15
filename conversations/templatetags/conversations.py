from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.defaultfilters import pluralize
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from requests_app import permissions as perms
from requests_app.compiled import ID_ONLY, rows_of_request
from requests_app.models import ServiceRequest

from ..models import RequestMute, Watcher

register = template.Library()


def _follow_figures(viewer: Any, request_id: int) -> Any:
    """The request (its id only) with whether `viewer` watches it, has muted it, and how many watch it."""
    mine = {"service_request": OuterRef("pk"), "user": viewer.pk}
    watchers = Watcher.objects.filter(service_request=OuterRef("pk")).order_by().values("service_request")
    return (
        ServiceRequest.objects.filter(pk=request_id)
        .annotate(
            watching=Exists(Watcher.objects.filter(**mine)),
            muted=Exists(RequestMute.objects.filter(**mine)),
            watcher_count=Coalesce(Subquery(watchers.annotate(n=Count("pk")).values("n")), 0),
        )
        .only(*ID_ONLY)  # with the state: django-fsm reads it on every instance (a query of its own if deferred)
        .order_by()
    )


@register.simple_tag(takes_context=True)
def follow_state(context: Any, service_request: ServiceRequest) -> dict[str, Any]:
    """What the follow card shows the viewer: watching, muted, and whether they may copy the team."""
    user = context["request"].user
    # One query for the three figures (three round trips before: the request page is read on every visit),
    # compiled once per process (requests_app.compiled).
    compiled = rows_of_request(_follow_figures, service_request.pk, user=user)  # none for a viewer who sees nothing
    figures = compiled[0] if compiled else _follow_figures(user, service_request.pk).get()
    return {
        "watching": figures.watching,
        "muted": figures.muted,
        "watchers": figures.watcher_count,
        "can_copy_team": bool(service_request.team_id) and perms.is_requester_side(service_request, user),
    }


def _watch_form(reference_action: str, csrf_input: str, action: str, label: str) -> str:
    return (
        f'\n    <form method="post" action="{reference_action}">{csrf_input}\n'
        f'      <input type="hidden" name="action" value="{action}">\n'
        f'      <button type="submit" class="button button--quiet">{label}</button>\n    </form>'
    )


@register.simple_tag(takes_context=True)
def follow_card(context: Any, service_request: ServiceRequest) -> SafeString:
    """What `{% include "conversations/partials/follow_card.html" %}` wrote (that template, kept as the reference
    of `requests_app/tests/test_request_page_html.py`), written out: the request page shows it to everyone."""
    follow = follow_state(context, service_request)
    action = conditional_escape(reverse("request-watch", args=[service_request.reference]))
    csrf_input = CsrfTokenNode().render(context)
    watchers = follow["watchers"]
    out = [
        '\n<section class="card follow" aria-labelledby="follow-heading">\n'
        '  <h2 id="follow-heading">Following</h2>\n'
        f'  <p class="muted">{watchers} watcher{pluralize(watchers)}. Mention someone with @username in a comment to'
        ' bring them in.</p>\n  <div class="follow__buttons">',
        _watch_form(
            action,
            csrf_input,
            *(("unwatch", "Stop watching") if follow["watching"] else ("watch", "Watch")),
        ),
        _watch_form(
            action,
            csrf_input,
            *(("unmute", "Unmute") if follow["muted"] else ("mute", "Mute notifications")),
        ),
        "\n    ",
    ]
    if follow["can_copy_team"]:
        out += [_watch_form(action, csrf_input, "copy-team", "Copy my team"), "\n    "]
    out.append("\n  </div>\n</section>\n")
    return mark_safe("".join(out))  # no value from the database but the count and the reference, escaped
