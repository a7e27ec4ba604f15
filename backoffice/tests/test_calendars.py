"""The Calendars section: services that change a calendar (reason first, recorded, due times moved at once), the
import with its preview and its refusals, the year view, the pages and the API with its permissions."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from backoffice.calendar_import import calendar_import_apply, calendar_import_preview
from backoffice.calendar_year import DayKind, calendar_year
from backoffice.calendars import (
    calendar_closure_add,
    calendar_day_add,
    calendar_day_remove,
    calendar_settings_update,
    environment_calendar_link,
)
from backoffice.models import Area, ChangeRecord
from portal.exceptions import Forbidden, ValidationFailed
from requests_app.choices import EventKind
from requests_app.models import Environment, RequestEvent
from requests_app.testing.workflow import file_request
from sla.clock import add_working_time
from sla.defaults import ensure_defaults
from sla.models import BusinessCalendar, CalendarDay
from sla.policies import calendar_for, working_calendar_of

pytestmark = pytest.mark.django_db
IST = ZoneInfo("Asia/Kolkata")
BIHAR_CSV = "date,name\n2026-10-09,Bihar Diwas (observed)\n2026-11-15,Chhath Puja\n2026-10-09,Bihar Diwas again\n"
ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Government of Bihar//Holidays//EN
BEGIN:VEVENT
UID:1@bihar
DTSTAMP:20260101T000000Z
DTSTART;VALUE=DATE:20261116
DTEND;VALUE=DATE:20261118
SUMMARY:Chhath Puja (second and third day)
END:VEVENT
BEGIN:VEVENT
UID:2@bihar
DTSTAMP:20260101T000000Z
DTSTART;VALUE=DATE:20261120
SUMMARY:Sama Chakeva
END:VEVENT
END:VCALENDAR
"""


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=IST)


@pytest.fixture
def bihar(world) -> BusinessCalendar:
    ensure_defaults()
    calendar = BusinessCalendar.objects.get(slug="bihar")
    world.environment.calendar = calendar
    world.environment.save()
    return calendar


def _records() -> list[tuple[str, str, str]]:
    return [(r.area, r.action, r.reason) for r in ChangeRecord.objects.order_by("pk")]


# --- services -------------------------------------------------------------------------------------------
def test_a_bihar_holiday_added_by_import_moves_a_bihar_requests_due_times_at_once(world, bihar):
    with time_machine.travel(at(10, 8, 10), tick=False):  # Thursday 8 Oct 2026; P2: 8 h 30 to respond, 25 h 30
        service_request = file_request(world)
    assert (service_request.response_due_at, service_request.resolution_due_at) == (at(10, 9, 10), at(10, 13, 10))
    calendar_for(world.environment, "working")  # built and cached before the change

    done = calendar_import_apply(
        bihar, actor=world.pm, reason="State notification 17/2026", filename="bihar.csv", content=BIHAR_CSV
    )

    assert [(row.day, row.name) for row in done.to_add] == [(date(2026, 10, 9), "Bihar Diwas (observed)")]
    service_request.refresh_from_db()
    # Friday is now a holiday: the response is due on Monday, the resolution a working day later than before.
    assert (service_request.response_due_at, service_request.resolution_due_at) == (at(10, 12, 10), at(10, 14, 10))
    environment = Environment.objects.get(pk=world.environment.pk)
    assert calendar_for(environment, "working")[0].holiday_name(date(2026, 10, 9)) == "Bihar Diwas (observed)"
    event = RequestEvent.objects.get(service_request=service_request, kind=EventKind.SLA_RECOMPUTED)
    assert "after a change to the Bihar calendar" in event.message
    assert _records() == [
        (Area.CALENDAR, "Imported holiday 2026-10-09: Bihar Diwas (observed)", "State notification 17/2026")
    ]


def test_a_change_without_a_reason_changes_nothing(world, bihar):
    with pytest.raises(ValidationFailed) as refused:
        calendar_day_add(bihar, actor=world.pm, day=date(2026, 10, 9), name="Bihar Diwas", reason=" ")
    assert refused.value.fields == {"reason": ["Give a reason."]}
    with pytest.raises(ValidationFailed):
        calendar_import_apply(bihar, actor=world.pm, reason="", filename="bihar.csv", content=BIHAR_CSV)
    assert not CalendarDay.objects.exists()
    assert not ChangeRecord.objects.exists()


@pytest.mark.parametrize("role", ["approver", "vendor_lead", "requester"])
def test_only_the_program_manager_changes_a_calendar(world, bihar, role):
    with pytest.raises(Forbidden):
        calendar_day_add(bihar, actor=world.users[role], day=date(2026, 10, 9), name="X", reason="Because")
    assert not CalendarDay.objects.exists()


def test_removing_a_package_holiday_makes_it_a_working_day_and_adding_it_back_restores_it(world, bihar):
    gurpurab = date(2026, 11, 24)  # Tuesday: Guru Nanak's Birthday, a package holiday in Bihar
    assert working_calendar_of(bihar).holiday_name(gurpurab) == "Guru Nanak's Birthday"

    removed = calendar_day_remove(bihar, actor=world.pm, day=gurpurab, reason="Offices open by order 12")
    bihar.refresh_from_db()

    assert removed.is_open
    assert working_calendar_of(bihar).holiday_name(gurpurab) is None
    status = next(s for s in calendar_year(bihar, 2026) if s.day == gurpurab)
    assert (status.kind, status.is_open, status.name) == (DayKind.REMOVED, True, "Guru Nanak's Birthday")
    assert status.source == f"Removed by {world.pm.get_full_name() or world.pm.username}: Offices open by order 12"

    restored = calendar_day_add(
        bihar, actor=world.pm, day=gurpurab, name="Guru Nanak's Birthday", reason="Order withdrawn"
    )
    bihar.refresh_from_db()
    assert not restored.is_open
    assert working_calendar_of(bihar).holiday_name(gurpurab) == "Guru Nanak's Birthday"
    assert not CalendarDay.objects.exists()
    assert [action for _area, action, _reason in _records()] == [
        "Worked holiday 2026-11-24: Guru Nanak's Birthday",
        "Restored holiday 2026-11-24: Guru Nanak's Birthday",
    ]


def test_adding_a_day_that_already_is_a_holiday_or_removing_a_working_day_is_refused(world, bihar):
    with pytest.raises(ValidationFailed) as twice:
        calendar_day_add(bihar, actor=world.pm, day=date(2026, 10, 2), name="Gandhi", reason="Dup")
    assert twice.value.fields == {"date": ["Already a holiday."]}
    with pytest.raises(ValidationFailed) as ordinary:
        calendar_day_remove(bihar, actor=world.pm, day=date(2026, 10, 7), reason="Not one")
    assert ordinary.value.fields == {"date": ["Not a holiday here."]}


def test_a_closure_closes_whole_days_in_the_calendars_zone_and_shows_in_the_year(world, bihar):
    calendar_closure_add(
        bihar, actor=world.pm, starts_on=date(2026, 10, 6), ends_on=date(2026, 10, 7), reason="State-wide bandh"
    )
    bihar.refresh_from_db()
    working = working_calendar_of(bihar)
    assert working.day_intervals_utc(date(2026, 10, 6)) == ()
    assert working.day_intervals_utc(date(2026, 10, 7)) == ()
    assert working.day_intervals_utc(date(2026, 10, 8)) != ()
    # Monday 17:00 + 2 h: the closure eats Tuesday and Wednesday.
    assert add_working_time(working, at(10, 5, 17), timedelta(hours=2)) == at(10, 8, 10, 30)
    statuses = {s.day: s for s in calendar_year(bihar, 2026)}
    assert statuses[date(2026, 10, 6)].kind == DayKind.CLOSED
    assert statuses[date(2026, 10, 6)].title == "Closed: State-wide bandh"
    with pytest.raises(ValidationFailed) as backwards:
        calendar_closure_add(bihar, actor=world.pm, starts_on=date(2026, 10, 9), ends_on=date(2026, 10, 8), reason="x")
    assert "ends_on" in backwards.value.fields


def test_settings_change_hours_and_holiday_lists_and_the_due_times_follow(world, bihar):
    with time_machine.travel(at(10, 8, 10), tick=False):
        service_request = file_request(world)
    saturday_hours = {0: "09:30-18:00", 1: "09:30-18:00", 2: "09:30-18:00", 3: "09:30-18:00", 5: "09:30-18:00"}

    calendar_settings_update(
        bihar, actor=world.pm, reason="Saturdays instead of Fridays", timezone="Asia/Kolkata", subdivision="BR",
        categories=["public", "government"], weekly_hours=saturday_hours,
    )  # fmt: skip

    service_request.refresh_from_db()
    assert service_request.response_due_at == at(10, 10, 10)  # Thursday 8 h, no Friday, Saturday's first 30 min
    bihar.refresh_from_db()
    assert working_calendar_of(bihar).weekly_hours[5]  # Saturday has hours
    with pytest.raises(ValidationFailed) as bad_hours:
        calendar_settings_update(
            bihar, actor=world.pm, reason="x", timezone="Asia/Kolkata", subdivision="BR", categories=["public"],
            weekly_hours={0: "nine to six"},
        )  # fmt: skip
    assert "hours_0" in bad_hours.value.fields
    with pytest.raises(ValidationFailed) as bad_category:
        calendar_settings_update(
            bihar, actor=world.pm, reason="x", timezone="Asia/Kolkata", subdivision="BR", categories=["festive"],
            weekly_hours=saturday_hours,
        )  # fmt: skip
    assert "categories" in bad_category.value.fields


def test_linking_an_environment_moves_its_open_requests_onto_the_calendar(world):
    ensure_defaults()
    with time_machine.travel(at(10, 1, 17), tick=False):  # Thursday; Friday 2 Oct is Gandhi Jayanti everywhere
        service_request = file_request(world)
    andhra = BusinessCalendar.objects.get(slug="andhra-pradesh")
    before = service_request.response_due_at

    environment_calendar_link(world.environment, actor=world.pm, calendar=andhra, reason="Punjab desk moved")

    service_request.refresh_from_db()
    assert Environment.objects.get(pk=world.environment.pk).calendar == andhra
    assert before == service_request.response_due_at == at(10, 5, 17)  # same days off here: recomputed, unchanged
    assert _records()[-1][1] == "Punjab now runs on Andhra Pradesh"


# --- import ---------------------------------------------------------------------------------------------
def test_the_preview_lists_what_is_added_and_what_is_skipped_and_changes_nothing(world, bihar):
    preview = calendar_import_preview(bihar, filename="bihar.csv", content=BIHAR_CSV)

    assert [(r.day, r.adds, r.note) for r in preview.rows] == [
        (date(2026, 10, 9), True, ""),
        (date(2026, 10, 9), False, "Skipped: the file lists this date twice."),
        (date(2026, 11, 15), False, "Skipped: already a holiday here (Chhath Puja)."),
    ]
    assert not CalendarDay.objects.exists()


def test_an_ics_file_adds_each_day_of_a_multi_day_event(world, bihar):
    done = calendar_import_apply(bihar, actor=world.pm, reason="Gazette", filename="bihar.ics", content=ICS)

    assert [(r.day, r.name) for r in done.to_add] == [
        (date(2026, 11, 16), "Chhath Puja (second and third day)"),
        (date(2026, 11, 17), "Chhath Puja (second and third day)"),
        (date(2026, 11, 20), "Sama Chakeva"),
    ]
    assert set(CalendarDay.objects.values_list("date", flat=True)) == {
        date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 20)
    }  # fmt: skip


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        ("bihar.csv", "", "The file is empty."),
        (
            "bihar.csv",
            "date,name\n15/11/2026,Chhath\n",
            "Line 2: “15/11/2026” is not a date; write dates like 2026-11-15.",
        ),
        ("bihar.csv", "2026-11-16\n", "Line 1: no holiday name after the date."),
        ("bihar.csv", "1890-01-01,Old\n", "Line 1: 1890-01-01 is outside 2000–2100."),
        ("bihar.csv", "date,name\n", "The file has no holidays in it."),
        ("bihar.ics", "BEGIN:VCALENDAR\nthis is not ical\n", "Not valid iCalendar"),
        (
            "bihar.ics",
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:No date\nEND:VEVENT\nEND:VCALENDAR\n",
            "cannot read its dates",
        ),
        (
            "bihar.ics",
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:notadate\nSUMMARY:X\nEND:VEVENT\nEND:VCALENDAR\n",
            "Event 1",
        ),
        ("bihar.ics", "BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n", "The file has no holidays in it."),
    ],
)
def test_a_file_that_cannot_be_read_is_a_field_error_naming_the_line(world, bihar, filename, content, expected):
    with pytest.raises(ValidationFailed) as refused:
        calendar_import_preview(bihar, filename=filename, content=content)
    assert expected in " ".join(refused.value.fields["file"])


# --- pages ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role,status", [("pm", 200), ("approver", 200), ("requester", 403), ("vendor_lead", 403)])
def test_the_calendar_pages_open_for_the_management_roles(client, world, bihar, role, status):
    client.force_login(world.users[role])
    for url in ("/manage/calendars/", "/manage/calendars/bihar/", "/manage/calendars/bihar/year/?year=2026"):
        assert client.get(url).status_code == status


def test_egov_devops_reads_but_cannot_change(client, world, bihar):
    client.force_login(world.approver)
    page = client.get("/manage/calendars/bihar/").content.decode()
    assert "Add a holiday" not in page
    assert client.get("/manage/calendars/bihar/import/").status_code == 403
    answer = client.post("/manage/calendars/bihar/days/add/", {"date": "2026-10-09", "name": "X", "reason": "Y"})
    assert answer.status_code == 403
    assert not CalendarDay.objects.exists()


def test_the_list_shows_which_environments_use_each_calendar_and_links_one(client, world, bihar):
    client.force_login(world.pm)
    assert 'href="/manage/calendars/"' in client.get(reverse("backoffice-home")).content.decode()
    page = client.get(reverse("backoffice-calendars")).content.decode()
    assert "Punjab" in page and "No environment" in page
    refused = client.post(reverse("backoffice-calendars"), {"environment": world.environment.pk, "calendar": "bihar"})
    assert refused.status_code == 400 and "This field is required" in refused.content.decode()
    answer = client.post(
        reverse("backoffice-calendars"), {"environment": world.environment.pk, "calendar": "punjab", "reason": "Back"}
    )
    assert answer.status_code == 302
    assert Environment.objects.get(pk=world.environment.pk).calendar.slug == "punjab"


def test_the_import_page_previews_then_confirms_and_a_bad_file_is_a_form_error(client, world, bihar):
    client.force_login(world.pm)
    url = reverse("backoffice-calendar-import", args=["bihar"])
    bad = client.post(url, {"file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00junk"), "reason": "Gazette"})
    assert bad.status_code == 400
    assert "not UTF-8 text" in bad.content.decode()

    preview = client.post(url, {"file": SimpleUploadedFile("bihar.csv", BIHAR_CSV.encode()), "reason": "Gazette"})
    body = preview.content.decode()
    assert preview.status_code == 200
    assert "1 to add" in body and "Skipped: already a holiday here (Chhath Puja)." in body
    assert not CalendarDay.objects.exists()

    confirmed = client.post(url, {"content": BIHAR_CSV, "filename": "bihar.csv", "format": "csv", "reason": "Gazette"})
    assert confirmed.status_code == 302
    assert confirmed["Location"] == "/manage/calendars/bihar/year/?year=2026"
    assert list(CalendarDay.objects.values_list("date", "name")) == [(date(2026, 10, 9), "Bihar Diwas (observed)")]


def test_the_year_view_says_what_each_day_is_and_where_it_came_from_in_text(client, world, bihar):
    calendar_day_add(bihar, actor=world.pm, day=date(2026, 10, 9), name="Bihar Diwas", reason="Gazette 17")
    client.force_login(world.approver)
    body = client.get("/manage/calendars/bihar/year/", {"year": 2026}).content.decode()
    assert body.count('class="month-table"') == 12
    assert "9 October: Holiday: Bihar Diwas. Added by" in body and "Gazette 17" in body
    assert "15 November: Holiday: Chhath Puja. Holidays package, government offices&#x27; list." in body
    assert "10 October: Day off. No working hours on Saturdays." in body


def test_the_year_view_agrees_with_the_clock_on_every_day(world, bihar):
    calendar_day_add(bihar, actor=world.pm, day=date(2026, 10, 9), name="Bihar Diwas", reason="Gazette 17")
    calendar_closure_add(bihar, actor=world.pm, starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 3), reason="Bandh")
    bihar.refresh_from_db()
    working = working_calendar_of(bihar)
    assert all(s.is_open == bool(working.day_intervals_utc(s.day)) for s in calendar_year(bihar, 2026))


# --- API ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role,read,write", [("pm", 200, 201), ("approver", 200, 403), ("requester", 403, 403),
                                             ("vendor_engineer", 403, 403)])  # fmt: skip
def test_the_api_reads_for_management_and_writes_for_the_program_manager(client, world, bihar, role, read, write):
    client.force_login(world.users[role])
    assert client.get("/api/v1/calendars/").status_code == read
    assert client.get("/api/v1/calendars/bihar/").status_code == read
    answer = client.post(
        "/api/v1/calendars/bihar/days/",
        {"date": "2026-10-09", "name": "Bihar Diwas", "reason": "Gazette"},
        content_type="application/json",
    )
    assert answer.status_code == write
    assert CalendarDay.objects.exists() == (write == 201)


def test_the_api_lists_calendars_and_a_years_days(client, world, bihar, django_assert_max_num_queries):
    calendar_day_add(bihar, actor=world.pm, day=date(2026, 10, 9), name="Bihar Diwas", reason="Gazette 17")
    client.force_login(world.approver)
    with django_assert_max_num_queries(12):  # the same few queries however many calendars there are
        answer = client.get("/api/v1/calendars/")
    listed = {c["slug"]: c for c in answer.json()}
    assert listed["bihar"]["environments"] == ["punjab"]
    assert listed["bihar"]["working_hours"]["Saturday"] == "closed"
    assert listed["bihar"]["days"] is None
    one = client.get("/api/v1/calendars/bihar/", {"year": 2026}).json()
    days = {d["date"]: d for d in one["days"]}
    assert len(days) == 365
    assert days["2026-10-09"]["kind"] == "added" and days["2026-10-09"]["reason"] == "Gazette 17"
    assert days["2026-11-15"]["category"] == "government"
    assert one["changes"][0]["name"] == "Bihar Diwas"
    assert client.get("/api/v1/calendars/bihar/", {"year": "soon"}).status_code == 400
    assert client.get("/api/v1/calendars/nowhere/").status_code == 404


def test_the_api_removes_a_day_closes_days_and_links_an_environment(client, world, bihar):
    client.force_login(world.pm)
    removed = client.post(
        "/api/v1/calendars/bihar/days/remove/",
        {"date": "2026-11-24", "reason": "Open"},
        content_type="application/json",
    )
    assert removed.status_code == 200 and removed.json()["is_open"] is True
    closure = client.post(
        "/api/v1/calendars/bihar/closures/",
        {"starts_on": "2026-10-06", "ends_on": "2026-10-06", "reason": "Bandh"},
        content_type="application/json",
    )
    assert closure.status_code == 201
    assert closure.json()["starts_at"] == "2026-10-06T00:00:00+05:30"
    missing = client.post(
        "/api/v1/calendars/bihar/closures/", {"starts_on": "2026-10-06"}, content_type="application/json"
    )
    assert missing.status_code == 400 and set(missing.json()["error"]["fields"]) == {"ends_on", "reason"}
    linked = client.post(
        "/api/v1/calendars/andhra-pradesh/environments/",
        {"environment": "punjab", "reason": "Moved"},
        content_type="application/json",
    )
    assert linked.status_code == 200 and linked.json()["environments"] == ["punjab"]


def test_the_api_import_previews_confirms_and_refuses_bad_files(client, world, bihar):
    client.force_login(world.pm)
    url = "/api/v1/calendars/bihar/import/"
    preview = client.post(url, {"content": BIHAR_CSV, "filename": "bihar.csv"}, content_type="application/json")
    assert preview.status_code == 200
    assert preview.json()["confirmed"] is False
    assert [r["date"] for r in preview.json()["to_add"]] == ["2026-10-09"]
    assert not CalendarDay.objects.exists()

    no_reason = client.post(url, {"content": BIHAR_CSV, "confirm": True}, content_type="application/json")
    assert no_reason.status_code == 400 and no_reason.json()["error"]["fields"] == {"reason": ["Give a reason."]}

    multipart = client.post(
        url, {"file": SimpleUploadedFile("bihar.ics", ICS.encode()), "reason": "G", "confirm": "true"}
    )
    assert multipart.status_code == 200 and multipart.json()["confirmed"] is True
    assert CalendarDay.objects.count() == 3

    for body in ({"content": "BEGIN:VCALENDAR\ngarbage\n", "format": "ics"}, {"content": "x,y\n"}, {}):
        refused = client.post(url, body, content_type="application/json")
        assert refused.status_code == 400, body
        assert "file" in refused.json()["error"]["fields"]
    binary = client.post(url, {"file": SimpleUploadedFile("x.ics", b"\x89PNG\r\n\x1a\n\xff")})
    assert binary.status_code == 400 and "UTF-8" in binary.json()["error"]["fields"]["file"][0]


def test_the_page_forms_show_what_is_wrong_and_change_nothing(client, world, bihar):
    client.force_login(world.pm)
    duplicate = client.post(
        "/manage/calendars/bihar/days/add/", {"date": "2026-10-02", "name": "Gandhi", "reason": "Again"}
    )
    assert duplicate.status_code == 400 and "Already a holiday." in duplicate.content.decode()
    no_reason = client.post(
        "/manage/calendars/bihar/closures/add/", {"starts_on": "2026-10-06", "ends_on": "2026-10-06"}
    )
    assert no_reason.status_code == 400 and "This field is required." in no_reason.content.decode()
    hours = {f"hours_{day}": "09:30-18:00" for day in range(5)}
    bad = client.post(
        "/manage/calendars/bihar/settings/",
        {"timezone": "Asia/Kolkata", "subdivision": "BR", "categories": ["public"], **hours, "hours_2": "9 to 6",
         "reason": "Typo"},
    )  # fmt: skip
    assert bad.status_code == 400 and "Cannot read working hours" in bad.content.decode()
    saved = client.post(
        "/manage/calendars/bihar/settings/",
        {"timezone": "Asia/Kolkata", "subdivision": "BR", "categories": ["public", "government"], **hours,
         "hours_5": "10:00-14:00", "reason": "Saturday mornings"},
    )  # fmt: skip
    assert saved.status_code == 302
    assert [action for _area, action, _reason in _records()] == ["Changed settings"]
    assert ChangeRecord.objects.get().after["weekly_hours"]["Saturday"] == "10:00–14:00"


def test_the_calendar_pages_forms_each_label_their_own_fields(client, world, bihar):
    # Three forms on one page share field names (date, reason): with the same ids, the second form's "Date" label
    # and hint named the first form's input.
    client.force_login(world.pm)
    page = client.get("/manage/calendars/bihar/").content.decode()
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for form in re.findall(r"<form .*?</form>", page, flags=re.S):
        named = re.findall(r'(?:for|aria-describedby)="([^"]+)"', form)
        assert all(f'id="{i}"' in form for i in named), named
    errors = client.post("/manage/calendars/bihar/days/remove/", {"date": "", "reason": ""}).content.decode()
    assert (
        'id="remove-day-date_error"' in errors
        and 'aria-describedby="remove-day-date_helptext remove-day-date_error"' in errors
    )
