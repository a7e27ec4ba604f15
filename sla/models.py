"""Stored SLA configuration (calendars, versioned policies) and each request's clock ledger and figures.

The time math lives in `sla/clock.py` and `sla/ledger.py` (pure); these models hold its inputs and results."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from requests_app.choices import Priority
from requests_app.models import validate_timezone

from . import conditions
from .choices import (
    CalendarDayKind,
    Clock,
    ClockKind,
    GoalUnit,
    LedgerKind,
    Measure,
    PauseReason,
    default_pause_reasons,
)
from .holidays_source import STATE_CATEGORIES


class BusinessCalendar(models.Model):
    """When work is expected: weekly working hours, a country's/state's public holidays, and local exceptions."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, default="Asia/Kolkata", validators=[validate_timezone])
    round_the_clock = models.BooleanField(default=False, help_text="24×7: every instant counts; hours are ignored.")
    country = models.CharField(max_length=2, default="IN", blank=True, help_text="ISO country for public holidays.")
    subdivision = models.CharField(
        max_length=10, blank=True, help_text="State code for state holidays, e.g. PB, AP, BR; blank for national only."
    )
    holiday_categories = models.CharField(
        max_length=100,
        default=",".join(STATE_CATEGORIES),
        help_text=(
            "The holidays package's categories to close on, comma-separated: public, government, optional. "
            "State offices' days are under 'government' for some states (Andhra Pradesh, Bihar)."
        ),
    )
    include_optional_holidays = models.BooleanField(
        default=False, help_text="Also close on the package's 'optional' (restricted) holidays."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def holiday_category_list(self) -> tuple[str, ...]:
        """The categories whose holidays close this calendar, optional ones included when asked for."""
        named = [c.strip().lower() for c in self.holiday_categories.split(",") if c.strip()]
        if self.include_optional_holidays:
            named.append("optional")
        return tuple(dict.fromkeys(named))

    def clean(self) -> None:
        if self.round_the_clock or not self.country:
            return
        from .holidays_source import UnknownCategory, UnknownSubdivision, public_holidays, validate_subdivision

        try:
            validate_subdivision(self.country, self.subdivision or None)
        except UnknownSubdivision as exc:
            raise ValidationError({"subdivision": str(exc)}) from exc
        try:
            public_holidays(self.country, None, years=2000, categories=self.holiday_category_list())
        except UnknownCategory as exc:
            raise ValidationError({"holiday_categories": str(exc)}) from exc


class CalendarPart(models.Model):
    """Something a calendar is made of; saving or deleting it marks the calendar changed (its cache key)."""

    class Meta:
        abstract = True

    calendar_id: int  # every part has a `calendar` foreign key

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        self._touch()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        result = super().delete(*args, **kwargs)
        self._touch()
        return result

    def _touch(self) -> None:
        BusinessCalendar.objects.filter(pk=self.calendar_id).update(updated_at=timezone.now())


class WorkingHours(CalendarPart):
    """One working interval on one weekday (several per day allowed, never overlapping)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(
        choices=[
            (0, "Monday"),
            (1, "Tuesday"),
            (2, "Wednesday"),
            (3, "Thursday"),
            (4, "Friday"),
            (5, "Saturday"),
            (6, "Sunday"),
        ]
    )
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["weekday", "starts"]
        constraints = [
            models.CheckConstraint(condition=models.Q(starts__lt=models.F("ends")), name="hours_start_before_end")
        ]
        verbose_name_plural = "working hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"

    def clean(self) -> None:
        if self.starts is None or self.ends is None:
            return
        if self.starts >= self.ends:
            raise ValidationError({"ends": "A working interval must end after it starts."})
        if self.calendar_id is None:
            return
        overlapping = WorkingHours.objects.filter(
            calendar_id=self.calendar_id, weekday=self.weekday, starts__lt=self.ends, ends__gt=self.starts
        ).exclude(pk=self.pk)
        if overlapping.exists():
            raise ValidationError(f"Overlaps {overlapping.first()}; working intervals on one day must not overlap.")


class CalendarDay(CalendarPart):
    """A local exception to the holiday list: an extra holiday, or a day that is worked after all."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField()
    kind = models.CharField(max_length=16, choices=CalendarDayKind)
    name = models.CharField(max_length=100)
    starts = models.TimeField(null=True, blank=True, help_text="Working day only; default the calendar's hours.")
    ends = models.TimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True, help_text="Why the day was added or removed.")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="one_exception_per_day")]

    def __str__(self) -> str:
        return f"{self.date}: {self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        if (self.starts is None) != (self.ends is None):
            raise ValidationError("Give both the start and the end of the working day, or neither.")
        if self.starts is not None and self.ends is not None and self.starts >= self.ends:
            raise ValidationError({"ends": "The working day must end after it starts."})
        if self.kind == CalendarDayKind.HOLIDAY and self.starts is not None:
            raise ValidationError("A holiday has no working hours.")


class CalendarClosure(CalendarPart):
    """A stretch of time when nothing counts (an outage of the office, a state-wide bandh)."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="closures")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at")), name="closure_start_before_end"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%Y-%m-%d %H:%M})"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.starts_at >= self.ends_at:
            raise ValidationError({"ends_at": "A closure must end after it starts."})


class SlaPolicyQuerySet(models.QuerySet):
    def current(self) -> SlaPolicyQuerySet:
        return self.filter(is_current=True)


class SlaPolicy(models.Model):
    """The goals for one priority, versioned: editing makes a new version, open requests keep theirs."""

    priority = models.CharField(max_length=2, choices=Priority)
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    response_goal = models.DecimalField(max_digits=7, decimal_places=2)
    response_unit = models.CharField(max_length=16, choices=GoalUnit, default=GoalUnit.HOURS)
    response_clock = models.CharField(max_length=8, choices=ClockKind, default=ClockKind.WORKING)
    resolution_goal = models.DecimalField(
        max_digits=7, decimal_places=2, null=True, blank=True, help_text="Empty: due at the request's needed-by date."
    )
    resolution_unit = models.CharField(max_length=16, choices=GoalUnit, default=GoalUnit.HOURS)
    resolution_clock = models.CharField(max_length=8, choices=ClockKind, default=ClockKind.WORKING)
    at_risk_ratio = models.DecimalField(
        max_digits=3, decimal_places=2, default=0.75, help_text="At risk once this share of the goal has elapsed."
    )
    pause_reasons = models.JSONField(
        default=default_pause_reasons,
        blank=True,
        help_text="Which pause reasons stop this priority's clocks: waiting_on_requester, waiting_on_third_party, "
        "change_freeze, blocked.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(max_length=200, blank=True)

    objects = SlaPolicyQuerySet.as_manager()

    class Meta:
        ordering = ["priority", "-version"]
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["priority", "version"], name="one_policy_version"),
            models.UniqueConstraint(
                fields=["priority"], condition=models.Q(is_current=True), name="one_current_policy"
            ),
            models.CheckConstraint(condition=models.Q(response_goal__gt=0), name="response_goal_positive"),
            models.CheckConstraint(
                condition=models.Q(resolution_goal__isnull=True) | models.Q(resolution_goal__gt=0),
                name="resolution_goal_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(at_risk_ratio__gt=0) & models.Q(at_risk_ratio__lt=1), name="at_risk_ratio_fraction"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.priority} v{self.version}"

    def clean(self) -> None:
        errors = {}
        if self.response_goal is not None and self.response_goal <= 0:
            errors["response_goal"] = "Must be more than zero."
        if self.resolution_goal is not None and self.resolution_goal <= 0:
            errors["resolution_goal"] = "Must be more than zero (leave empty for 'due at needed-by')."
        if self.at_risk_ratio is not None and not 0 < self.at_risk_ratio < 1:
            errors["at_risk_ratio"] = "Must be between 0 and 1, e.g. 0.75."
        errors.update(self._goals_the_priority_needs())
        if self.pause_reasons is None:  # left empty in the admin: the default, as a new row gets
            self.pause_reasons = default_pause_reasons()
        if not isinstance(self.pause_reasons, list) or any(r not in PauseReason.values for r in self.pause_reasons):
            errors["pause_reasons"] = f"Choose among: {', '.join(PauseReason.values)}."
        if errors:
            raise ValidationError(errors)

    def _goals_the_priority_needs(self) -> dict[str, str]:
        """P0–P3 run against a response and a resolution goal; a P4 responds within its goal and is resolved by
        the request's needed-by date, so its resolution goal stays empty."""
        errors = {}
        if self.response_goal is None:
            errors["response_goal"] = f"{self.priority or 'Every priority'} needs a response goal."
        if self.priority == Priority.P4 and self.resolution_goal is not None:
            errors["resolution_goal"] = "P4 is due at the request's needed-by date: leave the resolution goal empty."
        elif self.priority and self.priority != Priority.P4 and self.resolution_goal is None:
            errors["resolution_goal"] = (
                f"{self.priority} needs a resolution goal; only P4 is due at the needed-by date."
            )
        return errors

    def describe(self, measure: str) -> str:
        goal, unit, clock = (
            (self.response_goal, self.response_unit, self.response_clock)
            if measure == Measure.RESPONSE
            else (self.resolution_goal, self.resolution_unit, self.resolution_clock)
        )
        if goal is None:
            return "due at the needed-by date"
        amount = f"{goal.normalize():f}"
        return f"{amount} {GoalUnit(unit).label}{' (24×7)' if clock == ClockKind.ROUND_THE_CLOCK else ''}"


def policy_pauses_for(policy: SlaPolicy, reason: str) -> bool:
    """Whether a hold for `reason` stops the clocks of requests under `policy`."""
    return reason in (policy.pause_reasons or [])


class ClockLedgerEntry(models.Model):
    """One clock event of one request (start, pause, resume, stop, …): the source every SLA figure is derived from."""

    service_request = models.ForeignKey(
        "requests_app.ServiceRequest", on_delete=models.PROTECT, related_name="clock_ledger"
    )
    clock = models.CharField(max_length=4, choices=Clock)
    measure = models.CharField(max_length=12, choices=Measure, blank=True, help_text="Empty: both measures.")
    kind = models.CharField(max_length=16, choices=LedgerKind)
    at = models.DateTimeField()
    vendor = models.ForeignKey("requests_app.Vendor", null=True, blank=True, on_delete=models.PROTECT)
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.PROTECT)
    reason = models.CharField(max_length=300, blank=True)
    extension = models.DurationField(
        null=True, blank=True, help_text="An extension's shift of the due time (the program manager's, with a reason)."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["service_request", "at"], name="ledger_request_at")]
        verbose_name_plural = "clock ledger entries"

    def __str__(self) -> str:
        return f"{self.clock}/{self.measure or 'both'} {self.kind} at {self.at:%Y-%m-%d %H:%M}"


class RequestClockQuerySet(models.QuerySet):
    def running(self) -> RequestClockQuerySet:
        return self.filter(conditions.running())

    def newly_breached(self, now) -> RequestClockQuerySet:
        return self.running().filter(due_at__lte=now, breached_flagged_at__isnull=True)

    def newly_at_risk(self, now) -> RequestClockQuerySet:
        return self.running().filter(
            at_risk_at__lte=now, at_risk_flagged_at__isnull=True, breached_flagged_at__isnull=True
        )


class RequestClock(models.Model):
    """The derived figures of one clock (SLA or OLA) and measure of one request, rewritten from the ledger."""

    service_request = models.ForeignKey("requests_app.ServiceRequest", on_delete=models.CASCADE, related_name="clocks")
    clock = models.CharField(max_length=4, choices=Clock)
    measure = models.CharField(max_length=12, choices=Measure)
    vendor = models.ForeignKey("requests_app.Vendor", null=True, blank=True, on_delete=models.PROTECT)
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.PROTECT)
    priority = models.CharField(
        max_length=2,
        choices=Priority,
        blank=True,
        help_text="The priority of the policy the clock runs under, or ended under: the weekly report's grouping.",
    )
    goal = models.DurationField(null=True, blank=True, help_text="Working time allowed on the clock's calendar.")
    round_the_clock = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    running_since = models.DateTimeField(null=True, blank=True, help_text="Start of the open running segment.")
    elapsed = models.DurationField(default=timedelta, help_text="Working time counted before `running_since`.")
    paused_since = models.DateTimeField(null=True, blank=True)
    paused = models.DurationField(default=timedelta, help_text="Working time spent paused.")
    at_risk_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Cancelled, rejected or handed to another vendor.")
    breached = models.BooleanField(default=False, help_text="Met late, or ended after its due time.")
    at_risk_flagged_at = models.DateTimeField(null=True, blank=True)
    breached_flagged_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RequestClockQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service_request", "clock", "measure"], name="one_clock_per_measure")
        ]
        indexes = [
            # The scan walks these two: running clocks whose due or at-risk instant has passed, not yet flagged.
            models.Index(
                fields=["due_at"],
                name="clock_breach_scan",
                condition=models.Q(**conditions.NOT_STOPPED, breached_flagged_at__isnull=True),
            ),
            models.Index(
                fields=["at_risk_at"],
                name="clock_at_risk_scan",
                condition=models.Q(**conditions.NOT_STOPPED, at_risk_flagged_at__isnull=True),
            ),
            models.Index(fields=["vendor", "clock", "measure"], name="clock_vendor"),
            # Running clocks only (open requests': a few percent of all): the lists' "at risk" filter reads these.
            models.Index(
                fields=["service_request", "at_risk_at", "due_at"],
                name="clock_running",
                condition=models.Q(**conditions.NOT_STOPPED, started_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_request_id} {self.clock} {self.measure}"

    # The two figures `sla_summary` reads from related rows, named as `sla.selectors.ClockSnapshot` has them.
    @property
    def policy_version(self) -> int | None:
        return self.policy.version if self.policy is not None else None

    @property
    def vendor_slug(self) -> str | None:
        return self.vendor.slug if self.vendor is not None else None
