"""Which vendor a request should go to: the most specific active routing rule whose vendor is live, and why.

This is the one routing decision. Filing, triage and the management area's rule tester all ask `routing_decide`;
the explanation it returns is written from the same rules it weighed, so what the tester says is what filing does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from portal.compiled import CompiledObjects

from .catalogue import request_type_label
from .choices import OnboardingStatus, RoutingOutcome
from .models import Environment, RoutingRule, ServiceRequest, Stack, Vendor, VendorOnboarding


def vendor_is_live(*, vendor_id: int, environment_id: int) -> bool:
    return VendorOnboarding.objects.filter(
        vendor_id=vendor_id, environment_id=environment_id, status=OnboardingStatus.LIVE
    ).exists()


def live_vendors(environment_id: int):
    """Vendors that may receive this environment's requests."""
    return Vendor.objects.filter(
        onboardings__environment_id=environment_id, onboardings__status=OnboardingStatus.LIVE
    ).order_by("name")


@dataclass(frozen=True)
class PassedOver:
    """A rule that matched and ranks above the one chosen (or would have been chosen), and why it was not."""

    rule: RoutingRule
    why: str


@dataclass(frozen=True)
class RoutingDecision:
    """The vendor routing picks for one (type, environment, stack), the rule that picked it, and why, in words."""

    vendor: Vendor | None
    rule: RoutingRule | None
    outcome: RoutingOutcome
    explanation: str
    passed_over: tuple[PassedOver, ...] = ()


def _rule_name(rule: RoutingRule) -> str:
    return f"rule #{rule.pk} ({rule.match_label})"


def _subject(request_type: str, environment: Environment, stack: Stack | None) -> str:
    label = request_type_label(request_type)
    article = "An" if label[:1].lower() in "aeiou" else "A"
    where = f"on the {stack} stack" if stack else "with no stack"
    return f"{article} {label} request for {environment} {where}"


def _rules_matching(request_type: str, environment_id: int, stack_id: int | None) -> QuerySet[RoutingRule]:
    live = VendorOnboarding.objects.filter(
        vendor_id=OuterRef("vendor_id"), environment_id=environment_id, status=OnboardingStatus.LIVE
    )
    return (
        RoutingRule.objects.filter(Q(request_type="") | Q(request_type=request_type))
        .filter(Q(environment__isnull=True) | Q(environment_id=environment_id))
        .filter(Q(stack__isnull=True) | Q(stack_id=stack_id))
        .annotate(vendor_live=Exists(live))
        .select_related("vendor", "environment", "stack")
    )


# Values no row holds, replaced by the real ones on every run.
_TYPE, _ENVIRONMENT, _STACK = "\x01portico-request-type\x01", -(2**62) + 501, -(2**62) + 503


# `_rules_matching` compiled once per process, with and without a stack (`stack_id=None` is `IS NULL`): building it
# was a share of every filing's CPU.
_MATCHING = CompiledObjects(
    lambda with_stack, **m: _rules_matching(m["type"], m["environment"], m["stack"] if with_stack else None),
    {"type": _TYPE, "environment": _ENVIRONMENT, "stack": _STACK},
)


def _matching_rules(request_type: str, environment: Environment, stack: Stack | None) -> list[RoutingRule]:
    """Every rule that matches, active or not, most specific first (the older rule first among equals), each
    annotated with whether its vendor is live in the environment: one query."""
    rules = _MATCHING.objects(
        stack is not None, type=request_type, environment=environment.pk, stack=stack.pk if stack else None
    )
    return _ranked(rules)


def _usable(rule: RoutingRule) -> bool:
    return rule.is_active and bool(rule.vendor_live)  # type: ignore[attr-defined]  # annotated in _matching_rules


def _why_not(rule: RoutingRule, environment: Environment) -> str:
    if not rule.is_active:
        return f"{_rule_name(rule)} matches but is inactive"
    return f"{_rule_name(rule)} matches, but {rule.vendor} is not live in {environment}"


def routing_decide(*, request_type: str, environment: Environment, stack: Stack | None) -> RoutingDecision:
    """The vendor the routing rules pick for this combination, or None to leave it in triage, with the reason."""
    subject = _subject(request_type, environment, stack)
    rules = _matching_rules(request_type, environment, stack)
    chosen = next((rule for rule in rules if _usable(rule)), None)
    passed = tuple(
        PassedOver(rule, _why_not(rule, environment)) for rule in rules[: rules.index(chosen) if chosen else None]
    )
    skipped = "".join(f" Passed over: {item.why}." for item in passed)
    if chosen is not None:
        ties = [rule for rule in rules if rule.pk > chosen.pk and rule.specificity == chosen.specificity]
        tie = next(
            (
                f" {_rule_name(rule)} is as specific and also matches; the older rule wins."
                for rule in ties
                if _usable(rule)
            ),
            "",
        )
        explanation = (
            f"{subject} would go to {chosen.vendor} because {_rule_name(chosen)} is the most specific active match; "
            f"{chosen.vendor} is live in {environment}.{tie}{skipped}"
        )
        return RoutingDecision(chosen.vendor, chosen, RoutingOutcome.ROUTED, explanation, passed)
    if not rules:
        explanation = f"{subject} would wait in triage unrouted: no routing rule matches it."
        return RoutingDecision(None, None, RoutingOutcome.NO_RULE, explanation)
    reasons = "; ".join(item.why for item in passed)
    outcome = RoutingOutcome.VENDOR_NOT_LIVE if any(rule.is_active for rule in rules) else RoutingOutcome.RULE_INACTIVE
    explanation = f"{subject} would wait in triage unrouted: {reasons}."
    return RoutingDecision(None, None, outcome, explanation, passed)


def routing_decide_for(service_request: ServiceRequest) -> RoutingDecision:
    """`routing_decide` for a request's own type, environment and stack."""
    return routing_decide(
        request_type=service_request.request_type,
        environment=service_request.environment,
        stack=service_request.stack,
    )


def routing_suggest(service_request: ServiceRequest) -> Vendor | None:
    """The vendor the routing rules pick, or None to leave the request with the program manager."""
    return routing_decide_for(service_request).vendor


def _ranked(rules: Iterable[RoutingRule]) -> list[RoutingRule]:
    return sorted(rules, key=lambda rule: (-rule.specificity, rule.pk))


def _rules_for_any(types: list[str], environments: list[int], stacks: list[int]) -> QuerySet[RoutingRule]:
    """The rules that can match a request of one of `types` in one of `environments` on one of `stacks` (or none)."""
    return (
        RoutingRule.objects.filter(Q(request_type="") | Q(request_type__in=types))
        .filter(Q(environment__isnull=True) | Q(environment_id__in=environments))
        .filter(Q(stack__isnull=True) | Q(stack_id__in=stacks))
        .select_related("vendor")
    )


# `_rules_for_any` compiled once per process and number of types, environments and stacks (the triage inbox asks it
# on every page, and building it cost about as much CPU as the rest of the page's routing); markers hold the places
# of the values. Past COMPILED_UP_TO values of one kind, the queryset is built as before.
COMPILED_UP_TO = 16
_RULE_MARKERS = {
    **{f"type{i}": f"~routing-type-marker-{i}~" for i in range(COMPILED_UP_TO)},
    **{f"environment{i}": -7_500_000 - i for i in range(COMPILED_UP_TO)},
    **{f"stack{i}": -7_600_000 - i for i in range(COMPILED_UP_TO)},
}
_RULES_FOR_ANY = CompiledObjects(
    lambda shape, **m: _rules_for_any(
        [m[f"type{i}"] for i in range(shape[0])],
        [m[f"environment{i}"] for i in range(shape[1])],
        [m[f"stack{i}"] for i in range(shape[2])],
    ),
    _RULE_MARKERS,
)


def routing_rules_for(types: set[str], environments: set[int], stacks: set[int]) -> list[RoutingRule]:
    """`_rules_for_any(types, environments, stacks)`, through its compiled query when the sets are small enough."""
    if max(len(types), len(environments), len(stacks)) > COMPILED_UP_TO:
        return list(_rules_for_any(list(types), list(environments), list(stacks)))
    values: dict[str, Any] = {
        **{f"type{i}": value for i, value in enumerate(types)},
        **{f"environment{i}": value for i, value in enumerate(environments)},
        **{f"stack{i}": value for i, value in enumerate(stacks)},
    }
    return _RULES_FOR_ANY.objects((len(types), len(environments), len(stacks)), **values)


def routing_suggest_many(
    service_requests: Iterable[ServiceRequest], *, live: set[tuple[int, int]] | None = None
) -> dict[int, Vendor | None]:
    """`routing_suggest` for each request (by id), from two queries whatever their number: the rules that can match
    any of them and which of the rules' vendors are live where. A triage page asked once per row. The choice is
    `routing_decide`'s: the same match (type or any, environment or any, stack or any), the same order, the first
    active rule whose vendor is live (`test_routing.py` compares the two). `live`: the (vendor id, environment id)
    pairs live in the requests' environments, when the caller has read them already (one query fewer)."""
    requests = list(service_requests)
    if not requests:
        return {}
    types = {r.request_type for r in requests}
    environments = {r.environment_id for r in requests}
    stacks = {r.stack_id for r in requests if r.stack_id is not None}
    rules = routing_rules_for(types, environments, stacks)
    if live is None:
        live = set(
            VendorOnboarding.objects.filter(
                environment_id__in=environments,
                vendor_id__in={rule.vendor_id for rule in rules},
                status=OnboardingStatus.LIVE,
            ).values_list("vendor_id", "environment_id")
        )
    chosen: dict[tuple[str, int, int | None], Vendor | None] = {}
    result: dict[int, Vendor | None] = {}
    for service_request in requests:
        key = (service_request.request_type, service_request.environment_id, service_request.stack_id)
        if key not in chosen:
            kind, environment_id, stack_id = key
            matching = _ranked(
                rule
                for rule in rules
                if rule.request_type in ("", kind)
                and rule.environment_id in (None, environment_id)
                and rule.stack_id in (None, stack_id)
            )
            usable = (rule for rule in matching if rule.is_active and (rule.vendor_id, environment_id) in live)
            winner = next(usable, None)
            chosen[key] = winner.vendor if winner else None
        result[service_request.pk] = chosen[key]
    return result
