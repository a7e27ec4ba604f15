"""Random work after finished weeks were stored: every copy is either stale or current and equal to a fresh
computation.

Weeks of random work are played through the real services (test_previous_week_copy's desk), four finished weeks are
stored for three scopes, and then random changes of every kind land "now": transitions (pick-ups, resolutions,
escalations, reopens, ratings …), comments, assignments within a vendor and moves to another vendor, edits of the
title, description, priority, type and needed-by date, due-time extensions, a policy re-applied to a request, a
calendar change, and a transition back-dated into a past week (a request with a timeline cannot be deleted:
test_stored_weeks deletes one without). After every change each copy that is still current must say exactly what a
fresh computation says (reports/stored.py's rule), and the stale ones are stored again, as the beat task would; and
ordinary work done now must leave the weeks before it current, or the rule would be kept by restaling everything.
After every change the week of now, built on the newest current copy before it (the previous week's, or an earlier
one's while the change left the later ones stale), must also equal the week counted in full."""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from portal.exceptions import PortalError
from reports.models import StoredWeek
from reports.periods import week_containing, week_parse
from reports.selectors import report_weekly
from reports.stored import _scope_of_filters, report_week_store, scope_key
from requests_app import services
from requests_app.choices import EventKind, Priority, RequestType
from requests_app.models import RequestEvent
from sla.choices import Measure
from sla.defaults import ensure_defaults
from sla.models import BusinessCalendar
from sla.services import sla_calendar_changed, sla_extend, sla_policy_revise, sla_replay_apply

from .test_previous_week_copy import NOW, SCOPES, START, TZ, Desk, _filters

pytestmark = pytest.mark.django_db
WEEKS = ("2026-W44", "2026-W45", "2026-W46", "2026-W47")
# Changes that must leave every finished week's copy current when they happen now: transitions that neither regroup
# the request (a triage sets its vendor), take back an earlier week's figures (a reopen; a confirmation after one
# replaces its earlier rating) nor step into or out of waiting / blocked (which may stop or restart an overdue
# clock), comments, assignments within the vendor and edits of what no week shows.
ORDINARY = {"pick_up", "resolve", "confirm", "cancel", "reject", "approve", "deny", "comment", "describe", "assign"}
HOLDS = {"waiting_on_requester", "blocked"}


class Later:
    """One random change at the current (frozen) time, of every kind the report may hear of."""

    def __init__(self, desk: Desk, rng: random.Random) -> None:
        self.desk, self.rng, self.world = desk, rng, desk.world

    def _open(self) -> list:
        for service_request in self.desk.requests:
            service_request.refresh_from_db()
        return [r for r in self.desk.requests if r.is_open]

    def transition(self) -> str:
        """Any transition the desk's actors may take on any request (what `Desk.act` chooses)."""
        # Mostly the stored weeks' own open requests: their clocks may have run out in those weeks.
        end = week_parse(WEEKS[-1], tz=TZ).end
        older = [r for r in self._open() if r.created_at < end]
        self.desk.act(older if older and self.rng.random() < 0.8 else self.desk.requests)
        event = RequestEvent.objects.exclude(to_state="").order_by("-pk").first()
        if event is None or event.created_at != timezone.now():
            return "nothing"
        if event.from_state in HOLDS or event.to_state in HOLDS:
            return f"{event.kind} (hold)"
        if event.kind == EventKind.CONFIRM and event.service_request.reopen_count:
            return "confirm (again)"
        return event.kind

    def comment(self) -> str:
        services.request_comment(self.rng.choice(self.desk.requests), actor=self.world.pm, body="Any news?")
        return "comment"

    def edit(self) -> str:
        candidates = self._open()
        if not candidates:
            return "nothing"
        service_request = self.rng.choice(candidates)
        field = self.rng.choice(["title", "description", "priority", "request_type", "needed_by"])
        value = {
            "title": "Renamed",
            "description": "More detail",
            "priority": self.rng.choice([Priority.P1, Priority.P3]),
            "request_type": RequestType.GIT_OPS,
            "needed_by": (timezone.now() + timedelta(days=30)).date(),
        }[field]
        with contextlib.suppress(PortalError):
            services.request_update(service_request, actor=self.world.pm, changes={field: value}, reason="because")
            return "describe" if field == "description" else f"edit {field}"
        return "nothing"

    def reassign(self) -> str:
        candidates = [r for r in self._open() if r.state in ("queued", "in_progress") and r.vendor_id]
        if not candidates:
            return "nothing"
        service_request = self.rng.choice(candidates)
        world = self.world
        if self.rng.random() < 0.5:
            vendor = world.vendor_b if service_request.vendor_id == world.vendor_a.pk else world.vendor_a
            with contextlib.suppress(PortalError):
                services.request_reassign(service_request, actor=world.pm, vendor=vendor, reason="move")
                return "move vendor"
            return "nothing"
        engineer = self.desk.engineers[service_request.vendor_id]
        assignee = None if service_request.assignee_id == engineer.pk else engineer
        with contextlib.suppress(PortalError):
            services.request_reassign(service_request, actor=world.pm, assignee=assignee, reason="cover")
            return "assign"
        return "nothing"

    def extend(self) -> str:
        candidates = self._open()
        if not candidates:
            return "nothing"
        with contextlib.suppress(PortalError):
            sla_extend(
                self.rng.choice(candidates),
                actor=self.world.pm,
                measure=Measure.RESOLUTION,
                reason="waiting on a vendor",
                by=timedelta(days=3),
            )
            return "extend"
        return "nothing"

    def policy(self) -> str:
        candidates = self._open()
        if not candidates:
            return "nothing"
        service_request = self.rng.choice(candidates)
        sla_policy_revise(
            priority=service_request.priority, actor=self.world.pm, response_goal=self.rng.randint(1, 40), note="x"
        )
        sla_replay_apply(service_request, under="current", actor=self.world.pm)
        return "policy"

    def calendar(self) -> str:
        calendar = BusinessCalendar.objects.get(slug="bihar")
        calendar.round_the_clock = not calendar.round_the_clock
        calendar.save()
        sla_calendar_changed(calendar, actor=self.world.pm, environment_ids=[self.desk.bihar.pk])
        return "calendar"

    def back_dated(self, traveller) -> str:
        """A transition written as of an instant in a finished week (an import, a replay): the clock is moved
        back for it, then forward again."""
        now = timezone.now()
        week = week_parse(self.rng.choice(WEEKS), tz=TZ)
        traveller.move_to(week.start + (week.end - week.start) * self.rng.random())
        try:
            kind = self.transition()
        finally:
            traveller.move_to(now)
        return "nothing" if kind == "nothing" else f"back-dated {kind}"

    def step(self, traveller) -> str:
        roll = self.rng.random()
        if roll < 0.45:
            return self.transition()
        if roll < 0.55:
            return self.comment()
        if roll < 0.65:
            return self.edit()
        if roll < 0.77:
            return self.reassign()
        if roll < 0.82:
            return self.extend()
        if roll < 0.86:
            return self.policy()
        if roll < 0.90:
            return self.calendar()
        return self.back_dated(traveller)


def _stored(desk: Desk) -> list[tuple[str, dict, StoredWeek]]:
    rows = []
    for week in WEEKS:
        for arguments in SCOPES:
            key = scope_key(_filters(arguments, desk))
            rows.append((week, arguments, StoredWeek.objects.get(week=week, scope=key)))
    return rows


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_after_random_changes_now_every_stored_copy_is_stale_or_equals_a_fresh_computation(world, settings, seed):
    ensure_defaults()
    desk = Desk(world, seed)
    desk.bihar.calendar = BusinessCalendar.objects.get(slug="bihar")
    desk.bihar.save()
    rng = random.Random(seed)
    later = Later(desk, rng)
    compared = {"ordinary": 0, "other": 0}
    kinds: list[str] = []
    with time_machine.travel(START, tick=False) as traveller:
        desk.play(traveller, NOW)
        for week in WEEKS:
            for arguments in SCOPES:
                report_week_store(_scope_of_filters(_filters(arguments, desk)), week_parse(week, tz=TZ))
        assert not StoredWeek.objects.filter(stale=True).exists()
        organisation = report_weekly(user=None, week=WEEKS[-1])
        assert organisation.summary.created and organisation.summary.backlog and organisation.breaches_total

        for _ in range(25):
            traveller.shift(timedelta(minutes=rng.randint(5, 300)))
            current_before = set(StoredWeek.objects.filter(stale=False).values_list("pk", flat=True))
            kind = later.step(traveller)
            now = timezone.now()
            current = set(StoredWeek.objects.filter(stale=False).values_list("pk", flat=True))
            if kind in ORDINARY:
                # Work done now: no finished week's copy goes stale.
                assert current == current_before, (seed, kind)
            for week, arguments, row in _stored(desk):
                if row.pk not in current:
                    continue
                served = report_weekly(user=None, week=week, **arguments)
                assert StoredWeek.objects.get(pk=row.pk).computed_at == row.computed_at  # served from the copy
                assert served == report_weekly(user=None, week=week, now=now, **arguments), (seed, kind, week)
                compared["ordinary" if kind in ORDINARY else "other"] += 1
            # The week of now builds on the newest current copy before it, whichever weeks the change restaled: the
            # same as counted in full (one scope a step, in turn).
            arguments = SCOPES[len(kinds) % len(SCOPES)]
            this = week_containing(now, tz=TZ).label
            settings.PORTICO_REPORT_STORED_WEEKS = False
            full = report_weekly(user=None, week=this, now=now, **arguments)
            settings.PORTICO_REPORT_STORED_WEEKS = True
            assert report_weekly(user=None, week=this, now=now, **arguments) == full, (seed, kind, this, arguments)
            kinds.append(kind)
            # The beat task's part: the stale copies are stored again, so the next change meets current copies.
            for week, arguments, row in _stored(desk):
                if row.pk not in current:
                    report_week_store(_scope_of_filters(_filters(arguments, desk)), week_parse(week, tz=TZ))

        # The comparisons compared something: copies stayed current through ordinary work, and through others.
        assert compared["ordinary"] > 0 and compared["other"] > 0, compared
        # Stored again, every copy is current and equal to a fresh computation.
        now = timezone.now()
        for week in WEEKS:
            for arguments in SCOPES:
                report_week_store(_scope_of_filters(_filters(arguments, desk)), week_parse(week, tz=TZ))
                assert report_weekly(user=None, week=week, **arguments) == report_weekly(
                    user=None, week=week, now=now, **arguments
                )
        assert not StoredWeek.objects.filter(stale=True).exists()
