"""Holidays from the `holidays` package, and worked examples with real 2026 Indian state holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.calendars import WorkingCalendar
from sla.clock import DayOff, add_working_time, days_off_between, working_time_between
from sla.explain import describe_days_off
from sla.holidays_source import (
    UnknownCategory,
    UnknownCountry,
    UnknownSubdivision,
    public_holidays,
    subdivision_codes,
    subdivision_names,
    validate_subdivision,
)

IST = ZoneInfo("Asia/Kolkata")
WORKING_DAY = timedelta(hours=8, minutes=30)  # 09:30–18:00; what "a working day" means is the policy's business


def bihar(*categories: str) -> WorkingCalendar:
    return WorkingCalendar.default(
        holidays=public_holidays("IN", "BR", years=2026, categories=categories or ("public",)), name="Bihar"
    )


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=IST)


def test_bihar_public_holidays_2026_include_the_national_days():
    found = public_holidays("IN", "BR", years=2026)
    assert found[date(2026, 1, 26)] == "Republic Day"
    assert found[date(2026, 10, 2)] == "Mahatma Gandhi's Birthday"
    assert found[date(2026, 10, 20)] == "Dussehra"
    assert all(d.year == 2026 for d in found)
    assert list(found) == sorted(found)


def test_optional_category_adds_bihar_state_days():
    public = public_holidays("IN", "BR", years=2026)
    optional = public_holidays("IN", "BR", years=2026, categories=("public", "optional"))
    assert date(2026, 1, 24) not in public
    assert optional[date(2026, 1, 24)] == "Karpuri Thakur's Birthday"
    assert optional[date(2026, 11, 15)] == "Pratihar Shashthi or Surya Shashthi (Chhath Puja)"
    assert set(public) < set(optional)


def test_punjab_has_its_own_public_holidays():
    punjab = public_holidays("IN", "PB", years=[2026])
    national = public_holidays("IN", years=2026)
    assert punjab[date(2026, 3, 23)] == "Shaheed-e-Azam Bhagat Singh, Sukhdev and Rajguru's Martyrdom Day"
    assert date(2026, 3, 23) not in national


def test_subdivision_code_is_case_insensitive():
    assert public_holidays("in", "ap", years=2026) == public_holidays("IN", "AP", years=2026)
    assert validate_subdivision("IN", " br ") == "BR"
    assert validate_subdivision("IN", "") is None
    assert validate_subdivision("IN", None) is None


def test_unknown_subdivision_raises_a_value_error_listing_valid_codes():
    with pytest.raises(UnknownSubdivision) as excinfo:
        public_holidays("IN", "XX", years=2026)
    message = str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)
    assert "'XX' is not a subdivision of IN" in message
    assert "BR" in message and "PB" in message and "AP" in message


def test_unknown_country_and_category_raise_value_errors():
    with pytest.raises(UnknownCountry, match="'ZZ'"):
        public_holidays("ZZ", years=2026)
    with pytest.raises(UnknownCategory, match="choose from"):
        public_holidays("IN", years=2026, categories=("bank",))


def test_subdivision_codes_and_names_for_india():
    codes = subdivision_codes("IN")
    assert {"PB", "AP", "BR"} <= set(codes)
    assert subdivision_names("IN")["BR"] == "Bihar"


# --- worked examples: P2-like durations filed before Bihar holidays, exact to the second ---


def test_one_working_day_filed_friday_evening_before_republic_day_monday():
    # Fri 23 Jan 17:00: 1 h on Friday; Sat, Sun off; Mon 26 Jan Republic Day; Tue 09:30 + 7 h 30 min.
    calendar, filed = bihar(), at(2026, 1, 23, 17, 0, 0)
    due = add_working_time(calendar, filed, WORKING_DAY)
    assert due == at(2026, 1, 27, 17, 0, 0)
    assert due.astimezone(UTC) == datetime(2026, 1, 27, 11, 30, 0, tzinfo=UTC)
    assert days_off_between(calendar, filed, due) == [
        DayOff(date(2026, 1, 24), "weekend", "weekend"),
        DayOff(date(2026, 1, 25), "weekend", "weekend"),
        DayOff(date(2026, 1, 26), "holiday", "Republic Day"),
    ]
    assert describe_days_off(days_off_between(calendar, filed, due), region="Bihar") == (
        "weekend 24–25 Jan; Bihar holiday Republic Day on 26 Jan"
    )


def test_three_working_days_from_the_same_friday_evening():
    due = add_working_time(bihar(), at(2026, 1, 23, 17, 0, 0), 3 * WORKING_DAY)
    assert due == at(2026, 1, 29, 17, 0, 0)  # 1 h Fri + 8.5 h Tue + 8.5 h Wed + 7.5 h Thu


def test_with_optional_holidays_the_friday_itself_is_basant_panchami():
    # Basant Panchami (Fri 23 Jan) is optional in Bihar: nothing counts until Tuesday 09:30.
    calendar = bihar("public", "optional")
    due = add_working_time(calendar, at(2026, 1, 23, 17, 0, 0), WORKING_DAY)
    assert due == at(2026, 1, 27, 18, 0, 0)
    assert working_time_between(calendar, at(2026, 1, 23, 17, 0, 0), due) == WORKING_DAY


def test_filed_thursday_evening_before_gandhi_jayanti_friday():
    filed = at(2026, 10, 1, 17, 12, 45)
    due = add_working_time(bihar(), filed, WORKING_DAY)
    assert due == at(
        2026, 10, 5, 17, 12, 45
    )  # 47 min 15 s Thu; Fri 2 Oct holiday; weekend; Mon 09:30 + 7 h 42 min 45 s
    assert days_off_between(bihar(), filed, due)[0] == DayOff(date(2026, 10, 2), "holiday", "Mahatma Gandhi's Birthday")


@pytest.mark.parametrize(
    ("categories", "due"),
    [
        # Public only: Dussehra (Tue 20 Oct) is the one holiday in the stretch.
        (("public",), at(2026, 11, 2, 18, 0, 0)),
        # With optional days, 19, 26 and 29 Oct are off too.
        (("public", "optional"), at(2026, 11, 5, 18, 0, 0)),
    ],
)
def test_ten_working_days_across_the_bihar_festival_season(categories, due):
    filed = at(2026, 10, 16, 18, 0, 0)  # Friday, just at close
    result = add_working_time(bihar(*categories), filed, 10 * WORKING_DAY)
    assert result == due
    assert result.utcoffset() == timedelta(hours=5, minutes=30)
