"""Holidays imported from a file a state publishes: iCalendar (.ics) or CSV (`date,name`).

Reading a file never changes anything: `calendar_import_preview` says which days would be added and which are
skipped as already holidays; `calendar_import_apply` reads the same text again and adds the new ones. A file that
cannot be read is a `ValidationFailed` on the `file` field with the lines at fault, never a 500.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import icalendar

from portal.exceptions import ValidationFailed
from sla.choices import CalendarDayKind

from .audit import require_reason
from .calendars import DayChange, calendar_days_add, package_holiday, require_calendar_manager

if TYPE_CHECKING:
    from portal.models import User
    from sla.models import BusinessCalendar

MAX_IMPORT_BYTES = 256 * 1024
MAX_IMPORT_DAYS = 400
MAX_EVENT_DAYS = 31  # a multi-day event longer than a month is a data error, not a festival
FIRST_YEAR, LAST_YEAR = 2000, 2100
FORMATS = {"ics": "iCalendar (.ics)", "csv": "CSV (date,name)"}
MAX_ERRORS_SHOWN = 5


@dataclass(frozen=True)
class ImportRow:
    """One day read from the file, and whether the import adds it."""

    day: date
    name: str
    adds: bool
    note: str = ""


@dataclass(frozen=True)
class ImportPreview:
    """What an import would do (or did): the days it adds and the ones it skips, with why."""

    filename: str
    format: str
    rows: tuple[ImportRow, ...]
    changes: tuple[DayChange, ...] = field(default=())

    @property
    def to_add(self) -> list[ImportRow]:
        return [row for row in self.rows if row.adds]

    @property
    def skipped(self) -> list[ImportRow]:
        return [row for row in self.rows if not row.adds]

    @property
    def format_label(self) -> str:
        return FORMATS[self.format]


def _refuse(message: str, problems: list[str] | None = None) -> ValidationFailed:
    shown = (problems or [message])[:MAX_ERRORS_SHOWN]
    if problems and len(problems) > MAX_ERRORS_SHOWN:
        shown.append(f"…and {len(problems) - MAX_ERRORS_SHOWN} more.")
    return ValidationFailed(message, fields={"file": shown})


def decode_upload(content: bytes, *, size_limit: int = MAX_IMPORT_BYTES) -> str:
    """An uploaded file's text (UTF-8, a byte-order mark allowed)."""
    if len(content) > size_limit:
        raise _refuse(f"The file is larger than {size_limit // 1024} KB; a holiday list is much smaller.")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse("The file is not UTF-8 text; save it as UTF-8 (a CSV or an .ics file).") from exc


def detect_format(filename: str, content: str, requested: str = "") -> str:
    """`ics` or `csv`: as asked, else from the file's name, else from its first line."""
    if requested:
        if requested not in FORMATS:
            raise ValidationFailed("Unknown format.", fields={"format": "Choose ics or csv."})
        return requested
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in ("ics", "ical", "ifb"):
        return "ics"
    if suffix in ("csv", "txt"):
        return "csv"
    return "ics" if content.lstrip().upper().startswith("BEGIN:VCALENDAR") else "csv"


def _check_year(day: date, where: str) -> str | None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        return f"{where}: {day.isoformat()} is outside {FIRST_YEAR}–{LAST_YEAR}."
    return None


def _read_csv(content: str) -> list[tuple[date, str]]:
    found: list[tuple[date, str]] = []
    problems: list[str] = []
    for line_number, row in enumerate(csv.reader(io.StringIO(content)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if line_number == 1 and cells[0].lower() == "date":
            continue  # a header row
        where = f"Line {line_number}"
        try:
            day = date.fromisoformat(cells[0])
        except ValueError:
            problems.append(f"{where}: “{cells[0][:40]}” is not a date; write dates like 2026-11-15.")
            continue
        name = ",".join(cells[1:]).strip(" ,") if len(cells) > 1 else ""
        if not name:
            problems.append(f"{where}: no holiday name after the date.")
            continue
        if out_of_range := _check_year(day, where):
            problems.append(out_of_range)
            continue
        found.append((day, name[:100]))
    if problems:
        raise _refuse("Some lines of the CSV file cannot be read.", problems)
    return found


def _event_days(event: icalendar.cal.Component) -> list[date]:
    starts = event.decoded("DTSTART")
    first = starts.date() if isinstance(starts, datetime) else starts
    if not isinstance(first, date):
        raise ValueError("its start is not a date")
    if "DTEND" not in event:
        return [first]
    ends = event.decoded("DTEND")
    # DTEND is exclusive: an all-day event on the 15th ends on the 16th; a timed one ends on its own day.
    last = ends.date() if isinstance(ends, datetime) else ends - timedelta(days=1)
    if last < first:
        last = first
    if (last - first).days >= MAX_EVENT_DAYS:
        raise ValueError(f"it lasts more than {MAX_EVENT_DAYS} days")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _read_ics(content: str) -> list[tuple[date, str]]:
    try:
        parsed = icalendar.Calendar.from_ical(content)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        # icalendar names the line it could not read; that is the most useful thing to show.
        raise _refuse("The file is not a valid iCalendar (.ics) file.", [f"Not valid iCalendar: {exc}"[:300]]) from exc
    found: list[tuple[date, str]] = []
    problems: list[str] = []
    events = parsed.walk("VEVENT")
    for number, event in enumerate(events, start=1):
        name = str(event.get("SUMMARY", "")).strip()
        where = f"Event {number}" + (f" ({name[:40]})" if name else "")
        if not name:
            problems.append(f"{where}: it has no name (SUMMARY).")
            continue
        try:
            days = _event_days(event)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            problems.append(f"{where}: cannot read its dates ({exc}).")
            continue
        for day in days:
            if out_of_range := _check_year(day, where):
                problems.append(out_of_range)
                break
            found.append((day, name[:100]))
    if problems:
        raise _refuse("Some events of the iCalendar file cannot be read.", problems)
    return found


def read_holiday_file(*, filename: str, content: str, format: str = "") -> tuple[str, list[tuple[date, str]]]:
    """(the format, the (date, name) pairs) in the file, in its order."""
    if not content.strip():
        raise _refuse("The file is empty.")
    if len(content.encode("utf-8")) > MAX_IMPORT_BYTES:
        raise _refuse(f"The file is larger than {MAX_IMPORT_BYTES // 1024} KB; a holiday list is much smaller.")
    chosen = detect_format(filename, content, format)
    days = _read_ics(content) if chosen == "ics" else _read_csv(content)
    if not days:
        raise _refuse("The file has no holidays in it.")
    if len(days) > MAX_IMPORT_DAYS:
        raise _refuse(f"The file has {len(days)} days; import at most {MAX_IMPORT_DAYS} at a time.")
    return chosen, days


def calendar_import_preview(
    calendar: BusinessCalendar, *, filename: str, content: str, format: str = ""
) -> ImportPreview:
    """What importing the file would add, and what it would skip as already a holiday (or repeated in the file)."""
    chosen, days = read_holiday_file(filename=filename, content=content, format=format)
    exceptions = {day.date: day for day in calendar.days.filter(date__in=[d for d, _ in days])}
    seen: set[date] = set()
    rows = []
    for day, name in sorted(days, key=lambda pair: pair[0]):
        existing = exceptions.get(day)
        package = package_holiday(calendar, day)
        if day in seen:
            rows.append(ImportRow(day, name, False, "Skipped: the file lists this date twice."))
        elif existing is not None and existing.kind == CalendarDayKind.HOLIDAY:
            rows.append(ImportRow(day, name, False, f"Skipped: already a holiday here ({existing.name})."))
        elif existing is None and package is not None:
            rows.append(ImportRow(day, name, False, f"Skipped: already a holiday here ({package[0]})."))
        elif package is not None:
            rows.append(ImportRow(day, name, True, f"Restores {package[0]}, which had been made a working day."))
        else:
            rows.append(ImportRow(day, name, True))
        seen.add(day)
    return ImportPreview(filename=filename or f"pasted {chosen}", format=chosen, rows=tuple(rows))


def calendar_import_apply(
    calendar: BusinessCalendar, *, actor: User, reason: str, filename: str, content: str, format: str = ""
) -> ImportPreview:
    """Add the file's new holidays (the preview's), skipping duplicates; one record per day added."""
    reason = require_reason(reason)
    require_calendar_manager(actor)
    preview = calendar_import_preview(calendar, filename=filename, content=content, format=format)
    changes = calendar_days_add(
        calendar,
        actor=actor,
        days=[(row.day, row.name) for row in preview.to_add],
        reason=reason,
        source=preview.filename,
    )
    return ImportPreview(preview.filename, preview.format, preview.rows, tuple(changes))
