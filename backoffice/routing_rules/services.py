"""Writing routing rules from the management area: the program manager only, each change with its reason, recorded
in the change history. Which vendor a rule sends work to is decided only by `requests_app.routing`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from portal.exceptions import Forbidden, NotFound, ValidationFailed
from requests_app.models import Environment, RoutingRule, Stack, Vendor
from requests_app.timeline import model_full_clean

from ..audit import record_change, require_reason
from ..models import Area
from ..permissions import can_manage

if TYPE_CHECKING:
    from portal.models import User

FIELDS = ("request_type", "environment", "stack", "vendor", "is_active", "note")


def _require_manager(actor: User) -> None:
    if not can_manage(actor):
        raise Forbidden("Only the program manager changes routing rules.")


def _snapshot(rule: RoutingRule) -> dict[str, Any]:
    return {
        "request_type": rule.request_type,
        "environment": rule.environment.code if rule.environment else None,
        "stack": rule.stack.code if rule.stack else None,
        "vendor": rule.vendor.slug,
        "is_active": rule.is_active,
        "note": rule.note,
    }


def _same_match(rule: RoutingRule) -> QuerySet[RoutingRule]:
    """Other rules matching exactly what `rule` matches (any environment and any stack included)."""
    return RoutingRule.objects.filter(
        request_type=rule.request_type, environment=rule.environment, stack=rule.stack
    ).exclude(pk=rule.pk)


def _duplicate(rule: RoutingRule) -> ValidationFailed:
    clash = _same_match(rule).first()
    which = f"Rule #{clash.pk}" if clash else "Another rule"
    message = f"{which} already matches {rule.match_label}; edit that rule instead, or change what this one matches."
    return ValidationFailed(message, fields={"non_field_errors": message}, code="duplicate_match")


def _clean_and_save(rule: RoutingRule) -> RoutingRule:
    rule.note = (rule.note or "").strip()
    if _same_match(rule).exists():
        raise _duplicate(rule)
    # The constraint's own check would only say "already exists"; ours above names the rule.
    model_full_clean(rule, exclude=["environment", "stack", "vendor"])
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:  # written by somebody else between the check and the save
        raise _duplicate(rule) from exc
    return rule


def _managed(rule_id: int) -> RoutingRule:
    rule = RoutingRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("No such routing rule.")
    return rule


@transaction.atomic
def routing_rule_create(
    *,
    actor: User,
    reason: str,
    vendor: Vendor,
    request_type: str = "",
    environment: Environment | None = None,
    stack: Stack | None = None,
    is_active: bool = True,
    note: str = "",
) -> RoutingRule:
    """Add a rule: work matching (type?, environment?, stack?) goes to `vendor` when it is live there."""
    _require_manager(actor)
    reason = require_reason(reason)
    rule = _clean_and_save(
        RoutingRule(
            request_type=request_type or "",
            environment=environment,
            stack=stack,
            vendor=vendor,
            is_active=is_active,
            note=note,
        )
    )
    record_change(
        actor=actor, area=Area.ROUTING, action="Added routing rule", obj=rule, reason=reason, after=_snapshot(rule)
    )
    return rule


@transaction.atomic
def routing_rule_update(rule_id: int, *, actor: User, reason: str, **changes: Any) -> RoutingRule:
    """Change what a rule matches, where it sends work, its note, or whether it is active."""
    _require_manager(actor)
    reason = require_reason(reason)
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={name: "Not a field of a routing rule." for name in unknown})
    rule = _managed(rule_id)
    before = _snapshot(rule)
    for name, value in changes.items():
        setattr(rule, name, "" if name == "request_type" and value is None else value)
    _clean_and_save(rule)
    after = _snapshot(rule)
    if before["is_active"] and not after["is_active"]:
        action = "Deactivated routing rule"
    elif after["is_active"] and not before["is_active"]:
        action = "Reactivated routing rule"
    else:
        action = "Changed routing rule"
    record_change(actor=actor, area=Area.ROUTING, action=action, obj=rule, reason=reason, before=before, after=after)
    return rule


@transaction.atomic
def routing_rule_delete(rule_id: int, *, actor: User, reason: str) -> None:
    """Remove a rule for good (deactivating keeps it for later)."""
    _require_manager(actor)
    reason = require_reason(reason)
    rule = _managed(rule_id)
    before = _snapshot(rule)
    record_change(actor=actor, area=Area.ROUTING, action="Deleted routing rule", obj=rule, reason=reason, before=before)
    rule.delete()
