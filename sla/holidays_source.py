"""Public holidays of a country or state from the `holidays` package, with readable errors. Pure, no ORM."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import holidays

DEFAULT_CATEGORIES = ("public",)
# A state calendar's default: the package keeps some states' days under `public` (Punjab) and others only under
# `government`, the list the state's offices observe (Andhra Pradesh's Bhogi, Sankranti and Ugadi; Bihar's Chhath).
STATE_CATEGORIES = ("public", "government")


class UnknownCountry(ValueError):
    """The `holidays` package has no data for this country code."""


class UnknownSubdivision(ValueError):
    """The country has no subdivision (state) with this code."""


class UnknownCategory(ValueError):
    """The country's holidays have no such category (e.g. `optional`)."""


def _country_class(country: str) -> type[holidays.HolidayBase]:
    code = (country or "").strip().upper()
    supported = holidays.list_supported_countries()
    if code not in supported:
        raise UnknownCountry(f"No public-holiday data for country {country!r}; use an ISO code such as 'IN'.")
    return holidays.country_holidays(code).__class__


def subdivision_codes(country: str = "IN") -> tuple[str, ...]:
    """The subdivision (state) codes the package knows for `country`, e.g. ('AN', 'AP', …, 'WB') for India."""
    return tuple(_country_class(country).subdivisions)


def subdivision_names(country: str = "IN") -> dict[str, str]:
    """Subdivision code → a readable name (the package's first alias for it, else the code)."""
    cls = _country_class(country)
    names: dict[str, str] = {}
    for alias, code in getattr(cls, "subdivisions_aliases", {}).items():
        names.setdefault(code, alias)
    return {code: names.get(code, code) for code in cls.subdivisions}


def validate_subdivision(country: str, subdivision: str | None) -> str | None:
    """The normalised subdivision code (None for the whole country); UnknownSubdivision lists the valid ones."""
    if subdivision is None or not subdivision.strip():
        _country_class(country)
        return None
    code = subdivision.strip().upper()
    codes = subdivision_codes(country)
    if code not in codes:
        raise UnknownSubdivision(
            f"{subdivision!r} is not a subdivision of {country.upper()} known to the holidays package; "
            f"valid codes: {', '.join(codes)}."
        )
    return code


def public_holidays(
    country: str = "IN",
    subdiv: str | None = None,
    *,
    years: int | Iterable[int],
    categories: Iterable[str] = DEFAULT_CATEGORIES,
) -> dict[date, str]:
    """Holiday date → name for `country`/`subdiv` in `years` (the package's `public` category unless told)."""
    code = validate_subdivision(country, subdiv)
    wanted = tuple(categories)
    supported = _country_class(country).supported_categories
    unknown = [c for c in wanted if c not in supported]
    if unknown or not wanted:
        choices = ", ".join(supported)
        raise UnknownCategory(
            f"Unknown holiday categories {unknown or wanted!r} for {country.upper()}; choose from {choices}."
        )
    year_list = [years] if isinstance(years, int) else sorted(set(years))
    found = holidays.country_holidays(country.strip().upper(), subdiv=code, years=year_list, categories=wanted)
    return dict(sorted(found.items()))


@lru_cache(maxsize=1024)
def holidays_of_year(country: str, subdiv: str | None, categories: tuple[str, ...], year: int) -> dict[date, str]:
    """One year's holidays, cached: WorkingCalendar.holiday_years asks year by year as its math reaches them."""
    return public_holidays(country, subdiv, years=year, categories=categories)


# How the package's categories read on a page.
CATEGORY_LABELS = {
    "public": "public holidays",
    "government": "government offices' list",
    "optional": "optional (restricted) holidays",
    "optional_women": "optional holidays for women",
}


def category_label(category: str) -> str:
    """A category as people read it, e.g. "government offices' list"."""
    return CATEGORY_LABELS.get(category, category.replace("_", " "))


def supported_categories(country: str = "IN") -> tuple[str, ...]:
    """The categories the package has for `country`, public first."""
    found = _country_class(country).supported_categories
    return tuple(sorted(found, key=lambda c: (c != "public", c != "government", c)))


@lru_cache(maxsize=1024)
def holidays_with_category(
    country: str, subdiv: str | None, categories: tuple[str, ...], year: int
) -> dict[date, tuple[str, str]]:
    """One year's holidays with the category each comes from (the first of `categories` that has it), for pages
    that say where a day off came from."""
    found: dict[date, tuple[str, str]] = {}
    for category in categories:
        for day, name in public_holidays(country, subdiv, years=year, categories=(category,)).items():
            found.setdefault(day, (name, category))
    return dict(sorted(found.items()))
