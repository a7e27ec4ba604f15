"""The current week built on the previous week's stored copy says exactly what the full computation says.

A week's report counts the previous week again (the headline's change) and the seven weeks before it (the trends).
When that week's stored copy is current, those come from the copy (reports/selectors/weekly.py `_earlier_copy`).
Here random weeks of work are played through the real services, the previous week is stored, and more work lands
late on requests filed before it ended; after every step the report with the copy must equal the one computed in
full (stored weeks switched off). With the previous week's copy stale and an earlier week's current, the trends' weeks
up to that one come from its copy (`_earlier_copy`): the same comparison."""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.exceptions import PortalError
from reports.models import StoredWeek
from reports.periods import week_parse
from reports.selectors import report_weekly
from reports.stored import _scope_of_filters, report_week_store, scope_key
from requests_app import services
from requests_app.choices import OPEN_STATES, Priority, RequestState, RequestType
from requests_app.testing.workflow import file_request
from requests_app.tests import factories as f

from .conftest import ist

pytestmark = pytest.mark.django_db
TZ = "Asia/Kolkata"
START, NOW, LATE_UNTIL = ist(26, 9, month=10), ist(25, 12), ist(29, 20)  # W44 Monday; W48 Wednesday and Sunday
WEEK, PREVIOUS = "2026-W48", "2026-W47"
# Who takes each transition, and what it needs said.
ACTORS = {
    "triage": "pm",
    "reject": "pm",
    "unblock": "pm",
    "pick_up": "engineer",
    "resolve": "engineer",
    "request_info": "engineer",
    "escalate": "engineer",
    "provide_info": "requester",
    "confirm": "requester",
    "reopen": "requester",
    "cancel": "requester",
}
REASONS = {
    name: f"{name} because" for name in ("reject", "resolve", "request_info", "escalate", "provide_info", "reopen")
}
TYPES = (RequestType.INFRA_PROVISION, RequestType.TROUBLESHOOTING, RequestType.GIT_OPS, RequestType.PRODUCTION_ISSUE)


class Desk:
    """Random work through the services: filing, and any transition the request allows its actor."""

    def __init__(self, world, seed: int) -> None:
        self.world = world
        self.rng = random.Random(seed)
        self.bihar = f.EnvironmentFactory(code="bihar", name="Bihar")
        f.VendorOnboardingFactory(vendor=world.vendor_a, environment=self.bihar)
        f.VendorOnboardingFactory(vendor=world.vendor_b, environment=self.bihar)
        self.engineers = {world.vendor_a.pk: world.vendor_engineer, world.vendor_b.pk: world.other_vendor_engineer}
        self.requests: list = []

    def file(self) -> None:
        rng = self.rng
        self.requests.append(
            file_request(
                self.world,
                priority=rng.choice([Priority.P0, Priority.P1, Priority.P2, Priority.P2, Priority.P3]),
                request_type=rng.choice(TYPES),
                environment=rng.choice([self.world.environment, self.bihar]),
            )
        )

    def act(self, candidates: list) -> None:
        """One transition the request allows its actor now, chosen at random (nothing when none is)."""
        rng = self.rng
        service_request = rng.choice(candidates)
        service_request.refresh_from_db()
        actors = {
            "pm": self.world.pm,
            "requester": self.world.requester,
            "engineer": self.engineers.get(service_request.vendor_id),
        }
        options = []
        for name, role in ACTORS.items():
            actor = actors[role]
            if actor is not None and name in services.allowed_transitions(service_request, actor):
                options.append((name, actor))
        if not options:
            return
        name, actor = rng.choice(options)
        arguments: dict = {"reason": REASONS.get(name, "")}
        if name == "triage":
            arguments["vendor"] = rng.choice([self.world.vendor_a, self.world.vendor_b])
        if name == "confirm" and rng.random() < 0.6:
            arguments["rating"] = rng.randint(1, 5)
        with contextlib.suppress(PortalError):  # e.g. a reopen after its window: the desk moves on
            services.TRANSITIONS[name].service(service_request, actor=actor, **arguments)

    def play(self, traveller, until, *, late_only: bool = False, filed_from=None) -> None:
        """Random steps of 1–14 hours until `until`; `late_only` touches only requests filed before W48 (and not
        before `filed_from`, when given)."""
        while True:
            step = timedelta(minutes=self.rng.randint(60, (4 if late_only else 14) * 60))
            if timezone.now() + step >= until:
                return
            traveller.shift(step)
            if late_only:
                week_start = week_parse(WEEK, tz=TZ).start
                late = [r for r in self.requests if r.created_at < week_start]
                if filed_from is not None:
                    late = [r for r in late if r.created_at >= filed_from]
                if late:
                    self.act(late)
            elif not self.requests or self.rng.random() < 0.35:
                self.file()
            else:
                open_ones = [r for r in self.requests if r.state in (*OPEN_STATES, RequestState.RESOLVED)]
                self.act(open_ones or self.requests)


SCOPES = [{}, {"vendor": "optit"}, {"environment": "bihar", "priority": "P2"}]


def _filters(arguments: dict, desk: Desk) -> dict:
    filters: dict = {}
    if "vendor" in arguments:
        filters["vendor_id"] = desk.world.vendor_a.pk
    if "environment" in arguments:
        filters["environment_id"] = desk.bihar.pk
    if "priority" in arguments:
        filters["priority"] = arguments["priority"]
    return filters


def _both(settings, arguments: dict, now) -> tuple:
    """(with the copy, in full, queries each ran) for the current week at `now`."""
    settings.PORTICO_REPORT_STORED_WEEKS = False
    with CaptureQueriesContext(connection) as full_queries:
        full = report_weekly(user=None, week=WEEK, now=now, **arguments)
    settings.PORTICO_REPORT_STORED_WEEKS = True
    with CaptureQueriesContext(connection) as copy_queries:
        with_copy = report_weekly(user=None, week=WEEK, now=now, **arguments)
    return with_copy, full, len(copy_queries), len(full_queries)


def _store(desk: Desk, week: str = PREVIOUS) -> None:
    for arguments in SCOPES:
        report_week_store(_scope_of_filters(_filters(arguments, desk)), week_parse(week, tz=TZ))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_week_built_on_the_previous_weeks_copy_equals_the_full_computation(world, settings, seed):
    desk = Desk(world, seed)
    with time_machine.travel(START, tick=False) as traveller:
        desk.play(traveller, NOW)
        now = timezone.now()
        _store(desk)
        for arguments in SCOPES:
            with_copy, full, copy_queries, full_queries = _both(settings, arguments, now)
            assert with_copy == full, (seed, arguments)
            assert copy_queries < full_queries  # the copy was used: the previous weeks were not counted again
            if not arguments:  # the organisation's figures are not empty: the comparison compares something
                assert full.previous.created and full.previous.backlog and full.breaches_total
                assert (
                    any(w.created for w in full.traction[:-1]) and full.compliance_trend[-2].ola_compliance is not None
                )

        # Late work on requests filed before W48: each change restales the copy, which is then not used …
        desk.play(traveller, LATE_UNTIL, late_only=True)
        now = timezone.now()
        assert StoredWeek.objects.filter(week=PREVIOUS, scope=scope_key({}), stale=True).exists()
        for arguments in SCOPES:
            with_copy, full, *_ = _both(settings, arguments, now)
            assert with_copy == full, (seed, arguments)
        # … until it is stored again, with the late changes in it.
        _store(desk)
        assert not StoredWeek.objects.filter(week=PREVIOUS, stale=True).exists()
        for arguments in SCOPES:
            with_copy, full, copy_queries, full_queries = _both(settings, arguments, now)
            assert with_copy == full, (seed, arguments)
            assert copy_queries < full_queries


def test_a_copy_computed_with_other_engineers_is_not_built_on(world, settings):
    desk = Desk(world, 7)
    with time_machine.travel(START, tick=False) as traveller:
        desk.play(traveller, NOW)
        now = timezone.now()
        _store(desk)
        f.VendorEngineerFactory(username="gwl-eng-2", vendor=world.vendor_b)  # bandwidth moves; no request event
        assert not StoredWeek.objects.filter(week=PREVIOUS, scope=scope_key({}), stale=True).exists()
        with_copy, full, copy_queries, full_queries = _both(settings, {}, now)
        assert with_copy == full
        assert copy_queries == full_queries + 1  # the copy was read, and not built on


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_with_the_previous_copy_stale_the_trends_build_on_an_earlier_weeks_copy(world, settings, seed):
    """Late work on requests filed in W47 restales W47's copies but not W46's: the trends' weeks up to W46 then come
    from W46's copy, the previous week is counted, and the report is still the one computed in full."""
    desk = Desk(world, seed)
    earliest = week_parse(WEEK, tz=TZ).shifted(-7).start  # the trends' first week: counted only in full
    with time_machine.travel(START, tick=False) as traveller:
        desk.play(traveller, NOW)
        _store(desk, "2026-W46")
        _store(desk)
        desk.play(traveller, LATE_UNTIL, late_only=True, filed_from=week_parse(PREVIOUS, tz=TZ).start)
        now = timezone.now()
        assert StoredWeek.objects.filter(week=PREVIOUS, scope=scope_key({}), stale=True).exists()
        assert not StoredWeek.objects.filter(week="2026-W46", stale=True).exists()
        for arguments in SCOPES:
            settings.PORTICO_REPORT_STORED_WEEKS = False
            with CaptureQueriesContext(connection) as full_queries:
                full = report_weekly(user=None, week=WEEK, now=now, **arguments)
            settings.PORTICO_REPORT_STORED_WEEKS = True
            with CaptureQueriesContext(connection) as copy_queries:
                with_copy = report_weekly(user=None, week=WEEK, now=now, **arguments)
            assert with_copy == full, (seed, arguments)
            # W46's copy was built on: no query read the trends' first week, as the full computation does.
            first = connection.ops.compose_sql("%s", [earliest])  # as the captured SQL spells the parameter
            assert any(first in query["sql"] for query in full_queries.captured_queries)
            assert not any(first in query["sql"] for query in copy_queries.captured_queries), (seed, arguments)
            if not arguments:
                assert full.previous.created and any(w.created for w in full.traction[:-2])
