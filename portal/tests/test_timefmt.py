"""One formatter for every displayed time: zones named, relative times with the absolute one on hover."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal import timefmt

WINTER = datetime(2026, 12, 3, 8, 35, tzinfo=UTC)  # 14:05 in India, 09:35 in Berlin (CET)
SUMMER = datetime(2026, 7, 3, 8, 35, tzinfo=UTC)  # 14:05 in India, 10:35 in Berlin (CEST)


def test_ist_has_no_daylight_saving_and_is_named():
    assert timefmt.format_time(WINTER, tz="Asia/Kolkata") == "3 Dec 2026, 14:05 IST"
    assert timefmt.format_time(SUMMER, tz="Asia/Kolkata") == "3 Jul 2026, 14:05 IST"
    assert timefmt.format_time(WINTER, "short", tz="Asia/Kolkata") == "3 Dec, 14:05 IST"


def test_a_daylight_saving_zone_changes_name_and_offset_with_the_season():
    assert timefmt.format_time(WINTER, tz="Europe/Berlin") == "3 Dec 2026, 09:35 CET"
    assert timefmt.format_time(SUMMER, tz="Europe/Berlin") == "3 Jul 2026, 10:35 CEST"
    assert timefmt.format_iso(WINTER, tz="Europe/Berlin") == "2026-12-03T09:35:00+01:00"
    assert timefmt.format_iso(SUMMER, tz="Europe/Berlin") == "2026-07-03T10:35:00+02:00"


def test_zones_without_an_abbreviation_show_their_offset():
    assert timefmt.format_time(WINTER, tz="Asia/Dubai") == "3 Dec 2026, 12:35 UTC+04"
    assert timefmt.format_time(WINTER, tz="Asia/Kathmandu") == "3 Dec 2026, 14:20 UTC+05:45"
    assert timefmt.format_time(WINTER, tz="UTC") == "3 Dec 2026, 08:35 UTC"


def test_without_a_zone_the_current_one_is_used():
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        assert timefmt.format_time(WINTER) == "3 Dec 2026, 03:35 EST"
        assert timefmt.format_iso(WINTER) == "2026-12-03T03:35:00-05:00"


def test_dates_have_no_zone_and_none_is_empty():
    assert timefmt.format_time(date(2026, 12, 3)) == "3 Dec 2026"
    assert timefmt.format_time(None) == ""
    assert timefmt.format_iso(None) == ""


@pytest.mark.parametrize(
    ("offset", "text"),
    [
        (timedelta(hours=3, minutes=10), "in 3 h"),
        (-timedelta(days=2, hours=5), "2 d ago"),
        (timedelta(minutes=5, seconds=20), "in 5 min"),
        (-timedelta(seconds=20), "just now"),
    ],
)
def test_relative_times(offset, text):
    assert timefmt.format_relative(WINTER + offset, now=WINTER) == text


def test_relative_html_carries_the_absolute_time_on_hover():
    with timezone.override(zoneinfo.ZoneInfo("Asia/Kolkata")):
        html = timefmt.time_html(timezone.now() - timedelta(hours=2, minutes=1), relative=True)
    assert html.startswith('<time datetime="') and html.endswith(">2 h ago</time>")
    assert 'title="' in html and " IST" in html and "+05:30" in html


def test_an_unknown_zone_is_refused():
    with pytest.raises(ValidationError):
        timefmt.validate_timezone_name("Mars/Olympus_Mons")


def _time_html_as_before(value, style="long", *, relative=False):
    """`time_html` as it was written before it made the time local once: `format_html` over the three formatters."""
    from django.utils.html import format_html
    from django.utils.safestring import mark_safe

    if value is None:
        return mark_safe("")  # format_html without arguments is deprecated since Django 5.0
    absolute = timefmt.format_time(value, style)
    if relative:
        relative_text = timefmt.format_relative(value)
        return format_html(
            '<time datetime="{}" title="{}">{}</time>', timefmt.format_iso(value), absolute, relative_text
        )
    return format_html('<time datetime="{}">{}</time>', timefmt.format_iso(value), absolute)


@time_machine.travel(datetime(2026, 12, 5, 9, 30, 17, 250_000, tzinfo=UTC), tick=False)  # one "now" for both
def test_time_html_is_what_the_formatters_write_through_format_html():
    import random

    rng = random.Random(11)
    now = timezone.now()
    zones = ["Asia/Kolkata", "Europe/Berlin", "America/St_Johns", "Asia/Dubai", "UTC", "Pacific/Chatham"]
    checked = set()
    for _ in range(400):
        value = now + timedelta(seconds=rng.randint(-90 * 86_400, 90 * 86_400))
        if rng.random() < 0.3:
            value = value.astimezone(zoneinfo.ZoneInfo(rng.choice(zones)))  # an aware time in another zone
        style = rng.choice(["long", "short", "date", "time"])
        relative = rng.random() < 0.5
        with timezone.override(zoneinfo.ZoneInfo(rng.choice(zones))):
            written = timefmt.time_html(value, style, relative=relative)
            expected = _time_html_as_before(value, style, relative=relative)
        assert written == expected, (value, style, relative)
        assert type(written) is type(expected)
        checked.add((style, relative))
    assert len(checked) == 8
    assert timefmt.time_html(None) == _time_html_as_before(None) == ""
