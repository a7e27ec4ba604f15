"""The routing section: the rules in words, adding, changing and deleting them with a reason, and the tester that
asks `requests_app.routing` where a request would go and why."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.exceptions import NotFound, PortalError
from portal.forms import apply_portal_error
from portal.http import AuthenticatedHttpRequest
from requests_app.models import RoutingRule
from requests_app.routing import routing_decide

from ..permissions import can_manage
from ..sections import SECTIONS
from ..views import require_management
from .forms import ReasonForm, RoutingRuleForm, RoutingTestForm
from .services import routing_rule_create, routing_rule_delete, routing_rule_update


def _require_manager(request: AuthenticatedHttpRequest) -> None:
    require_management(request)
    if not can_manage(request.user):
        raise PermissionDenied("Only the program manager changes routing rules.")


def _rule(rule_id: int) -> RoutingRule:
    rule = RoutingRule.objects.select_related("environment", "stack", "vendor").filter(pk=rule_id).first()
    if rule is None:
        raise Http404("No such routing rule.")
    return rule


def _initial(rule: RoutingRule) -> dict[str, object]:
    fields = ("request_type", "environment", "stack", "vendor", "is_active", "note")
    return {name: getattr(rule, name) for name in fields}


@login_required
def routing_rules(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_management(request)
    rules = RoutingRule.objects.select_related("environment", "stack", "vendor")
    context = {
        "rules": rules,
        "can_manage": can_manage(request.user),
        "test_form": RoutingTestForm(auto_id="test_%s"),
        "sections": SECTIONS,
    }
    return render(request, "backoffice/routing_rules.html", context)


@login_required
def routing_rule_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_manager(request)
    form = RoutingRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rule = routing_rule_create(actor=request.user, reason=form.cleaned_data["reason"], **form.rule_fields())
        except PortalError as exc:
            apply_portal_error(form, exc)
        else:
            messages.success(request, f"Added rule #{rule.pk}: {rule}.")
            return redirect("backoffice-routing")
    status = 400 if form.errors else 200
    context = {"form": form, "rule": None, "sections": SECTIONS}
    return render(request, "backoffice/routing_rule_form.html", context, status=status)


@login_required
def routing_rule_edit(request: AuthenticatedHttpRequest, rule_id: int) -> HttpResponse:
    _require_manager(request)
    rule = _rule(rule_id)
    form = RoutingRuleForm(request.POST or None, initial=_initial(rule))
    if request.method == "POST" and form.is_valid():
        try:
            routing_rule_update(rule.pk, actor=request.user, reason=form.cleaned_data["reason"], **form.rule_fields())
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PortalError as exc:
            apply_portal_error(form, exc)
        else:
            messages.success(request, f"Saved rule #{rule.pk}.")
            return redirect("backoffice-routing")
    status = 400 if form.errors else 200
    context = {"form": form, "rule": rule, "delete_form": ReasonForm(auto_id="delete_%s"), "sections": SECTIONS}
    return render(request, "backoffice/routing_rule_form.html", context, status=status)


@login_required
@require_POST
def routing_rule_remove(request: AuthenticatedHttpRequest, rule_id: int) -> HttpResponse:
    _require_manager(request)
    rule = _rule(rule_id)
    delete_form = ReasonForm(request.POST, auto_id="delete_%s")
    if delete_form.is_valid():
        try:
            routing_rule_delete(rule.pk, actor=request.user, reason=delete_form.cleaned_data["reason"])
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PortalError as exc:
            apply_portal_error(delete_form, exc)
        else:
            messages.success(request, f"Deleted rule #{rule.pk}.")
            return redirect("backoffice-routing")
    form = RoutingRuleForm(initial=_initial(rule))
    context = {"form": form, "rule": rule, "delete_form": delete_form, "sections": SECTIONS}
    return render(request, "backoffice/routing_rule_form.html", context, status=400)


@login_required
def routing_test(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Where a request of this type, environment and stack would go, and why: the decision filing makes."""
    require_management(request)
    form = RoutingTestForm(request.GET or None, auto_id="test_%s")
    decision = None
    if form.is_valid():
        decision = routing_decide(**form.cleaned_data)
    context = {"test_form": form, "decision": decision, "sections": SECTIONS}
    return render(request, "backoffice/routing_test.html", context, status=400 if form.errors else 200)
