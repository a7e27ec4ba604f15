"""The on-call math at exact instants: handovers in the rota's zone, daylight saving, overrides, wrap-around."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from incidents.rota import Cover, RotaSpec, on_call, shift_at, shifts_between

WEEKLY_KOLKATA = RotaSpec(("asha", "bala", "chitra"), date(2026, 1, 5), time(9, 0), "Asia/Kolkata", 7)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def who(spec, when, covers=()):
    current = on_call(spec, list(covers), when)
    return (current.primary, current.secondary) if current else None


def test_nobody_is_on_call_before_the_first_handover():
    # 09:00 in Kolkata is 03:30 UTC.
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 5, 3, 29, 59)) is None
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 5, 3, 30)) == ("asha", "bala")


def test_the_handover_happens_at_the_local_time_in_the_rotas_zone():
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 12, 3, 29, 59)) == ("asha", "bala")
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 12, 3, 30)) == ("bala", "chitra")
    # Late on the handover day in UTC is already the next local day in Kolkata, still the same shift.
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 18, 23, 0)) == ("bala", "chitra")


def test_the_rota_wraps_around_to_the_first_member():
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 19, 3, 30)) == ("chitra", "asha")
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 26, 3, 30)) == ("asha", "bala")
    assert shift_at(WEEKLY_KOLKATA, utc(2026, 1, 26, 3, 30)).index == 3


def test_a_handover_keeps_its_local_time_across_a_daylight_saving_change():
    daily_london = RotaSpec(("asha", "bala"), date(2026, 3, 27), time(9, 0), "Europe/London", 1)
    # 28 March is GMT (09:00 = 09:00 UTC); British Summer Time starts on 29 March (09:00 = 08:00 UTC).
    assert who(daily_london, utc(2026, 3, 28, 8, 59, 59)) == ("asha", "bala")
    assert who(daily_london, utc(2026, 3, 28, 9, 0)) == ("bala", "asha")
    assert who(daily_london, utc(2026, 3, 29, 7, 59, 59)) == ("bala", "asha")
    assert who(daily_london, utc(2026, 3, 29, 8, 0)) == ("asha", "bala")
    shift = shift_at(daily_london, utc(2026, 3, 28, 12, 0))
    assert (shift.ends_at - shift.starts_at).total_seconds() == 23 * 3600


def test_an_override_replaces_the_primary_only_for_its_window():
    cover = Cover("dev", "primary", utc(2026, 1, 6, 10, 0), utc(2026, 1, 6, 18, 0))
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 6, 9, 59, 59), [cover]) == ("asha", "bala")
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 6, 10, 0), [cover]) == ("dev", "bala")
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 6, 18, 0), [cover]) == ("asha", "bala")
    current = on_call(WEEKLY_KOLKATA, [cover], utc(2026, 1, 6, 12, 0))
    assert current.primary_cover == cover and current.secondary_cover is None


def test_an_override_of_the_secondary_leaves_the_primary():
    cover = Cover("dev", "secondary", utc(2026, 1, 6, 0, 0), utc(2026, 1, 7, 0, 0))
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 6, 12, 0), [cover]) == ("asha", "dev")


def test_the_secondary_covering_the_primary_swaps_them_rather_than_holding_both():
    cover = Cover("bala", "primary", utc(2026, 1, 6, 0, 0), utc(2026, 1, 7, 0, 0))
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 6, 12, 0), [cover]) == ("bala", "asha")


def test_of_overlapping_overrides_the_later_one_wins():
    first = Cover("dev", "primary", utc(2026, 1, 6, 0, 0), utc(2026, 1, 8, 0, 0))
    later = Cover("esha", "primary", utc(2026, 1, 7, 0, 0), utc(2026, 1, 7, 12, 0))
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 6, 12, 0), [first, later]) == ("dev", "bala")
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 7, 6, 0), [first, later]) == ("esha", "bala")
    assert who(WEEKLY_KOLKATA, utc(2026, 1, 7, 12, 0), [first, later]) == ("dev", "bala")


def test_a_rota_of_one_has_no_secondary_and_a_rota_of_none_nobody():
    alone = RotaSpec(("asha",), date(2026, 1, 5), time(9, 0), "Asia/Kolkata", 7)
    assert who(alone, utc(2026, 2, 1)) == ("asha", None)
    empty = RotaSpec((), date(2026, 1, 5), time(9, 0), "Asia/Kolkata", 7)
    assert who(empty, utc(2026, 2, 1)) is None
    assert shifts_between(empty, utc(2026, 1, 1), utc(2026, 3, 1)) == []


def test_shifts_between_lists_every_shift_overlapping_the_window():
    shifts = shifts_between(WEEKLY_KOLKATA, utc(2026, 1, 1), utc(2026, 1, 20))
    assert [(s.primary, s.starts_at.astimezone(UTC)) for s in shifts] == [
        ("asha", utc(2026, 1, 5, 3, 30)),
        ("bala", utc(2026, 1, 12, 3, 30)),
        ("chitra", utc(2026, 1, 19, 3, 30)),
    ]
