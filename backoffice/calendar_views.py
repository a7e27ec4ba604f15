"""The Calendars section's pages: the list with which environments use each calendar, one calendar with its forms,
its settings, a holiday import (preview, then confirm) and the year view. Writes go through backoffice.calendars."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from portal.exceptions import NotFound, PortalError
from portal.forms import apply_portal_error
from portal.http import AuthenticatedHttpRequest
from sla.calendars import WEEKDAYS
from sla.holidays_source import category_label
from sla.models import BusinessCalendar

from . import calendars as services
from .calendar_forms import (
    ClosureForm,
    ClosureRemoveForm,
    DayAddForm,
    DayRemoveForm,
    EnvironmentLinkForm,
    ImportConfirmForm,
    ImportForm,
    SettingsForm,
)
from .calendar_import import calendar_import_apply, calendar_import_preview, decode_upload
from .calendar_year import SHORT, DayKind, calendar_months, calendar_year
from .permissions import can_manage
from .sections import SECTIONS
from .views import require_management

FIRST_YEAR, LAST_YEAR = 2001, 2035  # the holidays package's data for India


def _calendar(slug: str) -> BusinessCalendar:
    try:
        return services.calendar_get(slug)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _require_manager(request: AuthenticatedHttpRequest) -> None:
    require_management(request)
    if not can_manage(request.user):
        raise PermissionDenied("Only the program manager changes calendars.")


def _page(request: AuthenticatedHttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    context = {
        "sections": SECTIONS,
        "current_section": "backoffice-calendars",
        "can_manage": can_manage(request.user),
        **context,
    }
    return render(request, template, context, status=status)


@login_required
def calendar_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every calendar and the environments on it; the PM links an environment to a calendar here."""
    require_management(request)
    form = EnvironmentLinkForm(request.POST or None)
    status = 200
    if request.method == "POST":
        _require_manager(request)
        if form.is_valid():
            try:
                environment = services.environment_calendar_link(
                    form.cleaned_data["environment"],
                    actor=request.user,
                    calendar=form.cleaned_data["calendar"],
                    reason=form.cleaned_data["reason"],
                )
            except PortalError as exc:
                apply_portal_error(form, exc)
            else:
                messages.success(request, f"{environment} now runs on {environment.calendar}.")
                return redirect("backoffice-calendars")
        status = 400
    rows = [(calendar, services.state_name(calendar)) for calendar in services.calendars_with_environments()]
    return _page(request, "backoffice/calendar_list.html", {"rows": rows, "link_form": form}, status)


def _detail_context(calendar: BusinessCalendar, **forms_given: forms.Form) -> dict[str, Any]:
    return {
        "calendar": calendar,
        "weekly": services.weekly_hours_text(calendar),
        "categories": [category_label(c) for c in calendar.holiday_category_list()],
        "state": services.state_name(calendar),
        "days": calendar.days.select_related("added_by").order_by("-date"),
        "closures": [
            (closure, *services.closure_days(calendar, closure))
            for closure in calendar.closures.select_related("added_by").order_by("-starts_at")
        ],
        "environments": calendar.environments.order_by("name"),
        "year": timezone.localdate().year,
        "add_form": forms_given.get("add_form") or DayAddForm(),
        "remove_form": forms_given.get("remove_form") or DayRemoveForm(),
        "closure_form": forms_given.get("closure_form") or ClosureForm(),
        "closure_remove_form": forms_given.get("closure_remove_form"),
    }


@login_required
def calendar_detail(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    require_management(request)
    calendar = _calendar(slug)
    return _page(request, "backoffice/calendar_detail.html", _detail_context(calendar))


def _post_form(
    request: AuthenticatedHttpRequest,
    slug: str,
    form_class: type[forms.Form],
    slot: str,
    act: Callable[[BusinessCalendar, dict[str, Any]], str],
) -> HttpResponse:
    """Run one of the calendar page's forms: back to the page with a message, or the page again with the errors."""
    _require_manager(request)
    calendar = _calendar(slug)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            message = act(calendar, form.cleaned_data)
        except PortalError as exc:
            apply_portal_error(form, exc)
        else:
            messages.success(request, message)
            return redirect("backoffice-calendar", slug=calendar.slug)
    context = _detail_context(calendar, **{slot: form})
    return _page(request, "backoffice/calendar_detail.html", context, status=400)


@login_required
@require_POST
def calendar_day_add(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    def act(calendar: BusinessCalendar, data: dict[str, Any]) -> str:
        return services.calendar_day_add(
            calendar, actor=request.user, day=data["date"], name=data["name"], reason=data["reason"]
        ).message

    return _post_form(request, slug, DayAddForm, "add_form", act)


@login_required
@require_POST
def calendar_day_remove(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    def act(calendar: BusinessCalendar, data: dict[str, Any]) -> str:
        return services.calendar_day_remove(
            calendar, actor=request.user, day=data["date"], reason=data["reason"]
        ).message

    return _post_form(request, slug, DayRemoveForm, "remove_form", act)


@login_required
@require_POST
def calendar_closure_add(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    def act(calendar: BusinessCalendar, data: dict[str, Any]) -> str:
        services.calendar_closure_add(
            calendar, actor=request.user, starts_on=data["starts_on"], ends_on=data["ends_on"], reason=data["reason"]
        )
        return f"Closed {data['starts_on']:%d %b %Y} to {data['ends_on']:%d %b %Y}."

    return _post_form(request, slug, ClosureForm, "closure_form", act)


@login_required
@require_POST
def calendar_closure_remove(request: AuthenticatedHttpRequest, slug: str, closure_id: int) -> HttpResponse:
    def act(calendar: BusinessCalendar, data: dict[str, Any]) -> str:
        try:
            services.calendar_closure_remove(calendar, actor=request.user, closure_id=closure_id, reason=data["reason"])
        except NotFound as exc:
            raise Http404(exc.message) from exc
        return "Closure removed; those days count again."

    return _post_form(request, slug, ClosureRemoveForm, "closure_remove_form", act)


@login_required
def calendar_settings(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    _require_manager(request)
    calendar = _calendar(slug)
    initial = {
        "timezone": calendar.timezone,
        "subdivision": calendar.subdivision,
        "categories": list(calendar.holiday_category_list()),
        **{
            f"hours_{day}": text if text != "closed" else ""
            for day, _name, text in services.weekly_hours_text(calendar)
        },
    }
    form = SettingsForm(
        request.POST or None, initial=initial, calendar=calendar, categories=services.category_choices(calendar)
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.calendar_settings_update(
                    calendar,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    timezone=form.cleaned_data["timezone"],
                    subdivision=form.cleaned_data.get("subdivision", ""),
                    categories=form.cleaned_data.get("categories", []),
                    weekly_hours=form.weekly_hours(),
                )
            except PortalError as exc:
                apply_portal_error(form, exc)
            else:
                messages.success(request, f"Saved {calendar}'s settings.")
                return redirect("backoffice-calendar", slug=calendar.slug)
        status = 400
    return _page(request, "backoffice/calendar_settings.html", {"calendar": calendar, "form": form}, status)


@login_required
def calendar_import(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """Upload a file and see what it would add (nothing changes), then confirm to add it."""
    _require_manager(request)
    calendar = _calendar(slug)
    context: dict[str, Any] = {"calendar": calendar, "form": ImportForm(), "preview": None}
    if request.method != "POST":
        return _page(request, "backoffice/calendar_import.html", context)
    if "content" in request.POST:
        return _import_confirm(request, calendar)
    form = ImportForm(request.POST, request.FILES)
    context["form"] = form
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text = decode_upload(upload.read())
            preview = calendar_import_preview(calendar, filename=upload.name, content=text)
        except PortalError as exc:
            apply_portal_error(form, exc)
        else:
            confirm = ImportConfirmForm(
                initial={
                    "content": text,
                    "filename": upload.name,
                    "format": preview.format,
                    "reason": form.cleaned_data["reason"],
                }
            )
            return _page(
                request, "backoffice/calendar_import.html", {**context, "preview": preview, "confirm_form": confirm}
            )
    return _page(request, "backoffice/calendar_import.html", context, status=400)


def _import_confirm(request: AuthenticatedHttpRequest, calendar: BusinessCalendar) -> HttpResponse:
    confirm = ImportConfirmForm(request.POST)
    if confirm.is_valid():
        data = confirm.cleaned_data
        try:
            done = calendar_import_apply(
                calendar,
                actor=request.user,
                reason=data["reason"],
                filename=data["filename"],
                content=data["content"],
                format=data["format"],
            )
        except PortalError as exc:
            apply_portal_error(confirm, exc)
        else:
            added, skipped = len(done.changes), len(done.skipped)
            messages.success(request, f"Imported {added} holiday{'s' if added != 1 else ''}; skipped {skipped}.")
            years = sorted({row.day.year for row in done.to_add}) or [timezone.localdate().year]
            return redirect(f"{_year_url(calendar)}?year={years[0]}")
    context = {"calendar": calendar, "form": ImportForm(), "preview": None, "confirm_errors": confirm.errors}
    return _page(request, "backoffice/calendar_import.html", context, status=400)


def _year_url(calendar: BusinessCalendar) -> str:
    return reverse("backoffice-calendar-year", kwargs={"slug": calendar.slug})


@login_required
def calendar_year_view(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """Twelve month tables for the chosen year: each day's status and where it came from."""
    require_management(request)
    calendar = _calendar(slug)
    this_year = timezone.localdate().year
    try:
        year = int(request.GET.get("year", this_year))
    except ValueError:
        year = this_year
    year = min(max(year, FIRST_YEAR), LAST_YEAR)
    days = calendar_year(calendar, year)
    context = {
        "calendar": calendar,
        "year": year,
        "years": range(FIRST_YEAR, LAST_YEAR + 1),
        "months": calendar_months(days),
        "weekdays": WEEKDAYS,
        "open_days": sum(1 for d in days if d.is_open),
        "kinds": [(kind.label, short) for kind, short in _key()],
    }
    return _page(request, "backoffice/calendar_year.html", context)


def _key() -> list[tuple[DayKind, str]]:
    return [(DayKind(kind), short) for kind, short in SHORT.items() if short]
