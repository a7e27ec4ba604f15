"""Calendars, closures and SLA policies in the admin; clocks and their ledger are read-only."""

from __future__ import annotations

from itertools import pairwise

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from portal.admin import ReadOnlyAdmin

from .calendars import WEEKDAYS
from .models import (
    BusinessCalendar,
    CalendarClosure,
    CalendarDay,
    ClockLedgerEntry,
    RequestClock,
    SlaPolicy,
    WorkingHours,
)
from .services import POLICY_FIELDS, sla_policy_revise


class WorkingHoursFormSet(forms.BaseInlineFormSet):
    """Intervals of one day must not overlap, including ones added in the same save."""

    def clean(self) -> None:
        super().clean()
        by_day: dict[int, list[tuple]] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not data or data.get("DELETE") or not data.get("starts") or not data.get("ends"):
                continue
            by_day.setdefault(data["weekday"], []).append((data["starts"], data["ends"]))
        for weekday, intervals in by_day.items():
            intervals.sort()
            for (s1, e1), (s2, e2) in pairwise(intervals):
                if s2 < e1:
                    day = WEEKDAYS[weekday]
                    raise ValidationError(
                        f"{day}: {s1:%H:%M}–{e1:%H:%M} and {s2:%H:%M}–{e2:%H:%M} overlap; working intervals must not."
                    )


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    formset = WorkingHoursFormSet
    extra = 0


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 0


class CalendarClosureInline(admin.TabularInline):
    model = CalendarClosure
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone", "country", "subdivision", "holiday_categories", "round_the_clock")
    inlines = [WorkingHoursInline, CalendarDayInline, CalendarClosureInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    """Policies are versioned: "add" writes the next version of a priority; versions are never edited."""

    list_display = ("priority", "version", "is_current", "response", "resolution", "at_risk_ratio", "created_at")
    list_filter = ("priority", "is_current")
    fields = ("priority", *POLICY_FIELDS, "note")

    @admin.display(description="response goal")
    def response(self, obj: SlaPolicy) -> str:
        return obj.describe("response")

    @admin.display(description="resolution goal")
    def resolution(self, obj: SlaPolicy) -> str:
        return obj.describe("resolution")

    def get_changeform_initial_data(self, request) -> dict:
        initial = super().get_changeform_initial_data(request)
        current = SlaPolicy.objects.current().filter(priority=initial.get("priority", "P2")).first()
        if current:
            initial.update({name: getattr(current, name) for name in POLICY_FIELDS})
        return initial

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: SlaPolicy, form, change: bool) -> None:
        saved = sla_policy_revise(
            priority=obj.priority,
            actor=request.user,
            note=obj.note,
            **{name: form.cleaned_data[name] for name in POLICY_FIELDS},
        )
        obj.pk, obj.version, obj.is_current = saved.pk, saved.version, True


@admin.register(ClockLedgerEntry)
class ClockLedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("service_request", "clock", "measure", "kind", "at", "policy", "vendor")
    list_filter = ("clock", "kind")
    list_select_related = ("service_request", "policy", "vendor")


@admin.register(RequestClock)
class RequestClockAdmin(ReadOnlyAdmin):
    list_display = ("service_request", "clock", "measure", "due_at", "met_at", "breached", "paused_since")
    list_filter = ("clock", "measure", "breached")
    list_select_related = ("service_request",)
