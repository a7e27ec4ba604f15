"""The SLA policies pages: every priority's revisions, and draft → what-if → confirm for a new one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize

from portal.exceptions import PortalError
from portal.forms import apply_portal_error
from portal.http import AuthenticatedHttpRequest
from requests_app.choices import Priority
from sla.policies import policy_current

from .permissions import can_manage
from .policies import sla_policy_fields, sla_policy_overview, sla_policy_save, sla_policy_what_if
from .policy_forms import SlaPolicyConfirmForm, SlaPolicyDraftForm
from .sections import SECTIONS
from .views import require_management


@login_required
def sla_policies(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_management(request)
    context = {"sections": SECTIONS, "priorities": sla_policy_overview(), "can_manage": can_manage(request.user)}
    return render(request, "backoffice/policies.html", context)


@login_required
def sla_policy_revise(request: AuthenticatedHttpRequest, priority: str) -> HttpResponse:
    """GET: the draft form, filled with the current revision. POST `step=preview`: the what-if, with the draft kept
    in hidden fields; `step=confirm`: save it; `step=edit`: back to the draft form as it was."""
    require_management(request)
    if not can_manage(request.user):
        raise PermissionDenied("Only the program manager revises SLA policies.")
    if priority not in Priority.values:
        raise Http404("No such priority.")
    current = policy_current(priority)
    context: dict[str, Any] = {"sections": SECTIONS, "priority": priority, "current": current}
    if request.method != "POST":
        draft = SlaPolicyDraftForm(initial={**sla_policy_fields(current), "based_on_version": current.version})
        return render(request, "backoffice/policies_revise.html", {**context, "form": draft})
    draft = SlaPolicyDraftForm(request.POST)
    step = request.POST.get("step", "preview")
    if not draft.is_valid() or step == "edit":
        status = 200 if draft.is_valid() else 400
        return render(request, "backoffice/policies_revise.html", {**context, "form": draft}, status=status)
    confirm = SlaPolicyConfirmForm(request.POST if step == "confirm" else None)
    try:
        what_if = sla_policy_what_if(priority=priority, fields=draft.policy_fields())
    except PortalError as exc:
        apply_portal_error(draft, exc)
        return render(request, "backoffice/policies_revise.html", {**context, "form": draft}, status=400)
    if step == "confirm" and confirm.is_valid():
        try:
            revision = sla_policy_save(
                actor=request.user,
                priority=priority,
                fields=draft.policy_fields(),
                reason=confirm.cleaned_data["reason"],
                apply_to=confirm.cleaned_data["apply_to"],
                based_on_version=draft.cleaned_data["based_on_version"],
            )
        except PortalError as exc:
            apply_portal_error(confirm, exc)
        else:
            count = len(revision.retargeted)
            moved = f"; the clocks of {count} open request{pluralize(count)} now run under it" if count else ""
            messages.success(request, f"Saved {priority} policy version {revision.policy.version}{moved}.")
            return redirect("backoffice-sla-policies")
    status = 400 if confirm.is_bound else 200
    # The draft travels on in hidden inputs; without ids they point at no help text the page does not show.
    draft.auto_id = False
    context.update({"form": draft, "confirm": confirm, "what_if": what_if})
    return render(request, "backoffice/policies_preview.html", context, status=status)
