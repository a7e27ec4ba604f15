"""The one routing decision and the reason it gives: the most specific active rule whose vendor is live wins, and the
explanation names the rule, the vendor and every better-ranked rule it passed over."""

from __future__ import annotations

import pytest

from requests_app import form_choices, routing
from requests_app.choices import EventKind, OnboardingStatus, RequestType, RoutingOutcome
from requests_app.models import RoutingRule, VendorOnboarding
from requests_app.routing import routing_decide, routing_suggest, routing_suggest_many
from requests_app.testing.workflow import file_request
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def bihar(world):
    environment = f.EnvironmentFactory(code="bihar", name="Bihar")
    f.VendorOnboardingFactory(vendor=world.vendor_a, environment=environment)  # OptIT live in Bihar
    f.VendorOnboardingFactory(vendor=world.vendor_b, environment=environment, status=OnboardingStatus.TRAINING)
    return environment


def decide(world, environment, request_type=RequestType.GIT_OPS, stack="world"):
    return routing_decide(request_type=request_type, environment=environment, stack=world.stack if stack else None)


def test_the_most_specific_active_match_wins_and_says_why(world, bihar):
    RoutingRule.objects.create(vendor=world.vendor_b)
    rule = RoutingRule.objects.create(request_type=RequestType.GIT_OPS, environment=bihar, vendor=world.vendor_a)
    decision = decide(world, bihar)
    assert (decision.vendor, decision.rule, decision.outcome) == (world.vendor_a, rule, RoutingOutcome.ROUTED)
    assert decision.explanation == (
        f"A GitOps request for Bihar on the Microservices stack would go to OptIT because rule #{rule.pk} "
        "(GitOps / Bihar / any stack) is the most specific active match; OptIT is live in Bihar."
    )


def test_no_rule_leaves_the_request_in_triage(world, bihar):
    decision = decide(world, bihar, stack=None)
    assert (decision.vendor, decision.rule, decision.outcome) == (None, None, RoutingOutcome.NO_RULE)
    assert decision.explanation == (
        "A GitOps request for Bihar with no stack would wait in triage unrouted: no routing rule matches it."
    )


def test_a_vendor_not_live_in_the_environment_is_passed_over(world, bihar):
    rule = RoutingRule.objects.create(environment=bihar, vendor=world.vendor_b)  # GWL is only training in Bihar
    decision = decide(world, bihar)
    assert (decision.vendor, decision.outcome) == (None, RoutingOutcome.VENDOR_NOT_LIVE)
    assert decision.explanation.endswith(
        f"would wait in triage unrouted: rule #{rule.pk} (any type / Bihar / any stack) matches, but GWL is not live "
        "in Bihar."
    )


def test_an_inactive_rule_does_not_route(world, bihar):
    rule = RoutingRule.objects.create(request_type=RequestType.GIT_OPS, vendor=world.vendor_a, is_active=False)
    decision = decide(world, bihar)
    assert (decision.vendor, decision.outcome) == (None, RoutingOutcome.RULE_INACTIVE)
    assert f"rule #{rule.pk} (GitOps / any environment / any stack) matches but is inactive." in decision.explanation


def test_a_less_specific_rule_routes_when_better_ones_cannot_and_the_reason_names_them(world, bihar):
    fallback = RoutingRule.objects.create(environment=bihar, vendor=world.vendor_a)
    not_live = RoutingRule.objects.create(request_type=RequestType.GIT_OPS, environment=bihar, vendor=world.vendor_b)
    inactive = RoutingRule.objects.create(
        request_type=RequestType.GIT_OPS, environment=bihar, stack=world.stack, vendor=world.vendor_a, is_active=False
    )
    decision = decide(world, bihar)
    assert (decision.vendor, decision.rule) == (world.vendor_a, fallback)
    assert [item.rule for item in decision.passed_over] == [inactive, not_live]
    assert decision.explanation.endswith(
        f"Passed over: rule #{inactive.pk} (GitOps / Bihar / Microservices) matches but is inactive. "
        f"Passed over: rule #{not_live.pk} (GitOps / Bihar / any stack) matches, but GWL is not live in Bihar."
    )


def test_between_equally_specific_rules_the_older_wins_and_the_reason_says_so(world, bihar):
    VendorOnboarding.objects.filter(vendor=world.vendor_b, environment=bihar).update(status=OnboardingStatus.LIVE)
    older = RoutingRule.objects.create(request_type=RequestType.GIT_OPS, vendor=world.vendor_b)
    newer = RoutingRule.objects.create(environment=bihar, vendor=world.vendor_a)
    decision = decide(world, bihar)
    assert decision.rule == older
    assert f"rule #{newer.pk} (any type / Bihar / any stack) is as specific" in decision.explanation


def test_filing_records_the_decision_and_its_reason(world):
    rule = RoutingRule.objects.create(environment=world.environment, vendor=world.vendor_b)
    service_request = file_request(world)
    assert routing_suggest(service_request) == world.vendor_b
    payload = service_request.events.get(kind=EventKind.FILED).payload
    assert payload["suggested_vendor"] == "gwl" and payload["routing_rule"] == rule.pk
    assert payload["routing_reason"].startswith(
        "An Infra provision request for Punjab on the Microservices stack would go to GWL because"
    )


def test_a_page_routed_at_once_gets_what_each_request_gets_alone(world, bihar, django_assert_max_num_queries):
    # The triage inbox decides a page's routing in one go; it must pick what filing's `routing_suggest` picks.
    other_stack = f.StackFactory()
    RoutingRule.objects.create(vendor=world.vendor_b)  # any type, anywhere: GWL (training in Bihar)
    RoutingRule.objects.create(request_type=RequestType.GIT_OPS, environment=bihar, vendor=world.vendor_a)
    RoutingRule.objects.create(request_type=RequestType.TROUBLESHOOTING, vendor=world.vendor_a, is_active=False)
    RoutingRule.objects.create(environment=bihar, stack=world.stack, vendor=world.vendor_b)
    RoutingRule.objects.create(request_type=RequestType.GIT_OPS, stack=world.stack, vendor=world.vendor_b)  # ties
    requests = [
        f.ServiceRequestFactory(request_type=request_type, environment=environment, stack=stack)
        for request_type in (RequestType.GIT_OPS, RequestType.TROUBLESHOOTING)
        for environment in (bihar, world.environment)
        for stack in (world.stack, other_stack, None)
    ]
    alone = {service_request.pk: routing_suggest(service_request) for service_request in requests}
    with django_assert_max_num_queries(2):
        together = routing_suggest_many(requests)
    assert together == alone
    assert set(alone.values()) == {world.vendor_a, world.vendor_b, None}  # every outcome is exercised


def test_the_compiled_rule_and_onboarding_reads_are_the_querysets_answers(world, bihar):
    """`routing_rules_for` and the triage page's live onboardings, read through queries compiled per number of
    values, answer what the querysets they were compiled from answer, for every size (and past the compiled ones)."""
    other_stack = f.StackFactory()
    RoutingRule.objects.create(vendor=world.vendor_b)
    RoutingRule.objects.create(request_type=RequestType.GIT_OPS, environment=bihar, vendor=world.vendor_a)
    RoutingRule.objects.create(request_type=RequestType.TROUBLESHOOTING, vendor=world.vendor_a, is_active=False)
    RoutingRule.objects.create(environment=bihar, stack=world.stack, vendor=world.vendor_b)
    RoutingRule.objects.create(request_type=RequestType.GIT_OPS, stack=other_stack, vendor=world.vendor_b)
    environments = [world.environment.pk, bihar.pk]
    stacks = [world.stack.pk, other_stack.pk]
    types = [RequestType.GIT_OPS, RequestType.TROUBLESHOOTING, RequestType.INFRA_PROVISION]
    far = list(range(10_000, 10_000 + routing.COMPILED_UP_TO + 1))  # ids no row has: past the compiled sizes
    seen = set()
    for kinds, places, on in [
        (types[:1], environments[:1], []),
        (types[:1], environments[1:], stacks[:1]),
        (types[1:], environments, stacks),
        (types, environments[1:], stacks[1:]),
        (types, [*environments, *far], stacks),
    ]:
        expected = list(routing._rules_for_any(kinds, places, on))
        got = routing.routing_rules_for(set(kinds), set(places), set(on))
        assert sorted((r.pk, r.vendor.name, r.is_active) for r in got) == [
            (r.pk, r.vendor.name, r.is_active) for r in expected
        ]
        seen.add(len(expected))
        live = form_choices._live_onboardings(set(places))
        onboardings = [(o.pk, o.environment_id, o.vendor.pk, o.vendor.name) for o in live]
        assert onboardings == [
            (o.pk, o.environment_id, o.vendor.pk, o.vendor.name) for o in form_choices._onboardings_query(places)
        ]
        assert onboardings
    assert len(seen) >= 3  # different answers for different sizes: no marker left unbound
