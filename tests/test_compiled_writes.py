"""The writes' compiled statements (portal.compiled) do what the querysets they were compiled from do, on random data:
the SLA flags' re-arming and the stored weeks' restaling (CompiledUpdate), the routing rules, the current policy,
one request's clocks and its row with its related ones, and whether an environment mirrors to Jira."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from integrations.models import Connection, System
from jira_bridge.mirror import _jira_connected_query
from reports.models import StoredWeek
from reports.stored import _weeks_restaled, report_weeks_restale
from requests_app.choices import OnboardingStatus, Priority, RequestState, RequestType
from requests_app.compiled import request_with_related
from requests_app.models import RoutingRule, ServiceRequest
from requests_app.routing import _matching_rules, _ranked, _rules_matching
from requests_app.testing.workflow import walk_to
from requests_app.tests import factories as f
from sla.models import RequestClock, SlaPolicy
from sla.policies import policy_current
from sla.selectors import clock_snapshots, clock_snapshots_of
from sla.services import _flags_rearmed, _rearm_flags

pytestmark = pytest.mark.django_db


class _Undo(Exception):
    """Raised to roll a savepoint back once its outcome is read."""


def _outcome(apply, read):
    """What `read()` returns after `apply()`, with the database left as it was."""
    try:
        with transaction.atomic():
            apply()
            seen = read()
            raise _Undo
    except _Undo:
        return seen


def _clock_flags(service_request):
    return list(
        RequestClock.objects.filter(service_request=service_request)
        .order_by("pk")
        .values_list("pk", "breached_flagged_at", "at_risk_flagged_at")
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_rearming_compiled_clears_the_flags_the_plain_update_clears(world, seed):
    rng = random.Random(seed)
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    now = timezone.now()

    def moment():
        return rng.choice([None, now + timedelta(hours=rng.randint(-48, 48))])

    for clock in RequestClock.objects.filter(service_request=service_request):
        clock.due_at, clock.at_risk_at = moment(), moment()
        clock.breached_flagged_at, clock.at_risk_flagged_at = moment(), moment()
        clock.save()
    # at least one flag to clear: a breach flagged before its due time moved into the future
    first = RequestClock.objects.filter(service_request=service_request).order_by("pk").first()
    first.due_at, first.breached_flagged_at = now + timedelta(hours=1), now - timedelta(hours=1)
    first.save()
    RequestClock.objects.filter(service_request=walk_to(world, RequestState.QUEUED)).update(breached_flagged_at=now)

    def plain():
        queryset, changes = _flags_rearmed(request=service_request.pk, now=timezone.now())
        queryset.update(**changes)

    expected = _outcome(plain, lambda: _clock_flags(service_request))
    assert expected != _clock_flags(service_request)
    assert _outcome(lambda: _rearm_flags(service_request), lambda: _clock_flags(service_request)) == expected
    untouched = RequestClock.objects.exclude(service_request=service_request).filter(breached_flagged_at=now).count()
    assert untouched == 4  # the other request's flags stay


def test_restaling_compiled_marks_the_weeks_the_plain_update_marks(db):
    rng = random.Random(7)
    now = timezone.now()
    for n in range(30):
        StoredWeek.objects.create(
            week=f"2026-W{n:02d}",
            tz="UTC",
            scope="{}",
            end=now + timedelta(days=rng.randint(-60, 10)),
            stale=rng.random() < 0.5,
            generation=rng.randint(0, 5),
            computing_since=rng.choice([None, now]),
        )

    def weeks():
        return list(StoredWeek.objects.order_by("pk").values_list("pk", "stale", "generation"))

    for days in (-70, -20, -3, 0, 20):
        since = now + timedelta(days=days)

        def plain(since=since):
            queryset, changes = _weeks_restaled(since=since)
            queryset.update(**changes)

        expected = _outcome(plain, weeks)
        assert expected != weeks() or days == 20  # the comparison is of a change (nothing ends 20 days out)
        assert _outcome(lambda since=since: report_weeks_restale(since=since), weeks) == expected


def test_the_compiled_routing_rules_are_the_querysets_for_every_combination(world):
    rng = random.Random(3)
    bihar = f.EnvironmentFactory(code="bihar", name="Bihar")
    f.VendorOnboardingFactory(vendor=world.vendor_a, environment=bihar)
    f.VendorOnboardingFactory(vendor=world.vendor_b, environment=bihar, status=OnboardingStatus.TRAINING)
    other_stack = f.StackFactory(code="other")
    environments, stacks = [None, world.environment, bihar], [None, world.stack, other_stack]
    types = ["", RequestType.GIT_OPS, RequestType.INFRA_PROVISION]
    combos = {(t, e, s) for t in types for e in environments for s in stacks}
    for request_type, environment, stack in rng.sample(sorted(combos, key=str), 14):
        RoutingRule.objects.create(
            request_type=request_type,
            environment=environment,
            stack=stack,
            vendor=rng.choice([world.vendor_a, world.vendor_b]),
            is_active=rng.random() < 0.8,
        )
    for request_type in types[1:]:
        for environment in environments[1:]:
            for stack in stacks:
                plain = _ranked(_rules_matching(request_type, environment.pk, stack.pk if stack else None))
                compiled = _matching_rules(request_type, environment, stack)
                assert [(r.pk, r.vendor_live, r.vendor.slug) for r in compiled] == [
                    (r.pk, r.vendor_live, r.vendor.slug) for r in plain
                ]


def test_the_current_policy_is_the_querysets_first(world):
    for priority in Priority.values:
        policy_current(priority)  # the defaults
    current = SlaPolicy.objects.current().get(priority=Priority.P2)
    current.is_current = False
    current.save()
    SlaPolicy.objects.create(
        **{
            field.name: getattr(current, field.name)
            for field in SlaPolicy._meta.concrete_fields
            if field.name not in ("id", "version", "is_current")
        },
        version=current.version + 1,
        is_current=True,
    )
    for priority in Priority.values:
        assert policy_current(priority) == SlaPolicy.objects.current().filter(priority=priority).first()


def test_one_requests_clocks_and_row_are_what_the_querysets_read(world):
    for state in (RequestState.SUBMITTED, RequestState.IN_PROGRESS, RequestState.RESOLVED):
        service_request = walk_to(world, state)
        assert clock_snapshots_of(service_request.pk) == clock_snapshots([service_request.pk])[service_request.pk]
        compiled = request_with_related(service_request.pk)
        plain = ServiceRequest.objects.with_related().get(pk=service_request.pk)
        assert [getattr(compiled, field.attname) for field in ServiceRequest._meta.concrete_fields] == [
            getattr(plain, field.attname) for field in ServiceRequest._meta.concrete_fields
        ]
        for related in ("environment", "stack", "team", "vendor", "requester", "assignee"):
            assert getattr(compiled, related) == getattr(plain, related), related
    with pytest.raises(ServiceRequest.DoesNotExist):
        request_with_related(10**9)


def test_an_environment_mirrors_to_jira_exactly_when_the_queryset_says_so(world):
    bihar = f.EnvironmentFactory(code="bihar", name="Bihar")
    Connection.objects.create(environment=world.environment, system=System.JIRA, url="https://jira.test")
    Connection.objects.create(environment=bihar, url="https://jira.test", system=System.JIRA, enabled=False)
    for environment in (world.environment, bihar):
        plain = Connection.objects.filter(environment=environment, system=System.JIRA, enabled=True).exists()
        assert bool(_jira_connected_query().rows(environment=environment.pk)) == plain
    assert _jira_connected_query().rows(environment=world.environment.pk)
