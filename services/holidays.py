"""Statutory rest days of the countries the add-on ships contact profiles for.

Every rule is written out from the law that sets it, so that the days of any year
are computed instead of typed in: a list of fixed dates runs out (it did: from 2028
on Mexico had no holiday at all) and silently lets reminders out on a rest day.

Covered, with the profiles of ``dunning.policy`` that skip holidays:

- Mexico: Ley Federal del Trabajo, art. 74 (rest days with pay).
- Colombia: Ley 51 de 1983 ("Ley Emiliani": most days move to the next Monday).
- Chile: Ley 2.977 and its amendments (Monday rule of Ley 19.668).
- Peru: Decreto Legislativo 713 and its amendments.
- Spain: Estatuto de los Trabajadores art. 37.2 and Real Decreto 2001/1983 art. 45:
  the national days kept in every region (each region adds its own; users add
  those as rows of ``dunning.holiday``).

Days set by a decree for one year only (a Peruvian "día no laborable", an election
day) and regional days are not rules: users add them.  Rules of the past are
followed from the year the law that changed them took effect, back to the
2000s; older years are not a collection concern.

Pure Python (no Odoo import), so that it can be unit-tested alone.  Names are
English; the model translates them.  ``_lt`` only marks them for extraction into
the add-on's translation template (Odoo collects ``_lt("...")`` calls from every
Python file of the add-on).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dateutil.easter import easter

__all__ = [
    "Holiday",
    "holidays",
    "holidays_between",
    "supported_countries",
]

_MONDAY, _TUESDAY, _WEDNESDAY, _THURSDAY, _FRIDAY, _SATURDAY, _SUNDAY = range(7)


def _lt(text: str) -> str:
    """Mark ``text`` for the translation template; it is translated later."""
    return text


@dataclass(frozen=True, order=True)
class Holiday:
    """One statutory rest day.

    ``code`` names the rule (stable across years, e.g. ``mx_constitution``): the
    model keys its rows on it, so that a user can switch off one day of one rule.
    """

    date: dt.date
    code: str
    name: str


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> dt.date:
    """The ``nth`` (1-based) ``weekday`` of the month."""
    first = dt.date(year, month, 1)
    shift = (weekday - first.weekday()) % 7
    return first + dt.timedelta(days=shift + 7 * (nth - 1))


def _next_monday(day: dt.date) -> dt.date:
    """``day`` when it is a Monday, else the Monday after it (Ley Emiliani)."""
    return day + dt.timedelta(days=(_MONDAY - day.weekday()) % 7)


def _chile_monday(day: dt.date) -> dt.date:
    """Ley 19.668: a Tuesday, Wednesday or Thursday moves back to the Monday of
    its week, a Friday forward to the next Monday; other days stay."""
    weekday = day.weekday()
    if weekday in (_TUESDAY, _WEDNESDAY, _THURSDAY):
        return day - dt.timedelta(days=weekday)
    if weekday == _FRIDAY:
        return day + dt.timedelta(days=3)
    return day


def _easter(year: int, days: int = 0) -> dt.date:
    """Western (Gregorian) Easter Sunday of ``year`` plus ``days``."""
    return easter(year) + dt.timedelta(days=days)


Rule = Callable[[int], Iterator[tuple[str, dt.date, str]]]


def _mexico(year: int) -> Iterator[tuple[str, dt.date, str]]:
    """Ley Federal del Trabajo, art. 74."""
    yield "mx_new_year", dt.date(year, 1, 1), _lt("New Year's Day")
    # The "Monday" rules of fractions II, III and VI apply since the reform
    # published on 2006-01-17; before, the days fell on the anniversaries.
    mondays = year >= 2006
    yield (
        "mx_constitution",
        _nth_weekday(year, 2, _MONDAY, 1) if mondays else dt.date(year, 2, 5),
        _lt("Constitution Day"),
    )
    yield (
        "mx_juarez",
        _nth_weekday(year, 3, _MONDAY, 3) if mondays else dt.date(year, 3, 21),
        _lt("Benito Juárez's Birthday"),
    )
    yield "mx_labour", dt.date(year, 5, 1), _lt("Labour Day")
    yield "mx_independence", dt.date(year, 9, 16), _lt("Independence Day")
    # Fraction VII: the day the federal executive is handed over. The 2014
    # constitutional reform (art. 83) moved the inauguration from December 1 to
    # October 1 from 2024 on; both every six years.
    if year >= 2024 and (year - 2024) % 6 == 0:
        yield (
            "mx_transmission",
            dt.date(year, 10, 1),
            _lt("Transmission of the Federal Executive Power"),
        )
    elif year < 2024 and (year - 2018) % 6 == 0:
        yield (
            "mx_transmission",
            dt.date(year, 12, 1),
            _lt("Transmission of the Federal Executive Power"),
        )
    yield (
        "mx_revolution",
        _nth_weekday(year, 11, _MONDAY, 3) if mondays else dt.date(year, 11, 20),
        _lt("Revolution Day"),
    )
    yield "mx_christmas", dt.date(year, 12, 25), _lt("Christmas Day")
    # Fraction IX (federal and local election days) is left to users: ordinary
    # elections are held on Sundays, and local ones vary by state.


def _colombia(year: int) -> Iterator[tuple[str, dt.date, str]]:
    """Ley 51 de 1983 (in force since 1984): the days marked "moved" are
    observed on the next Monday when they fall on another weekday; the Easter
    feasts of Ascension, Corpus Christi and the Sacred Heart as well."""
    moved = _next_monday if year >= 1984 else (lambda day: day)
    yield "co_new_year", dt.date(year, 1, 1), _lt("New Year's Day")
    yield "co_epiphany", moved(dt.date(year, 1, 6)), _lt("Epiphany")
    yield "co_saint_joseph", moved(dt.date(year, 3, 19)), _lt("Saint Joseph's Day")
    yield "co_maundy_thursday", _easter(year, -3), _lt("Maundy Thursday")
    yield "co_good_friday", _easter(year, -2), _lt("Good Friday")
    yield "co_labour", dt.date(year, 5, 1), _lt("Labour Day")
    # Ascension (Thursday, Easter + 39), Corpus Christi (Thursday, Easter + 60)
    # and the Sacred Heart (Friday, Easter + 68), each on the following Monday.
    yield "co_ascension", moved(_easter(year, 39)), _lt("Ascension Day")
    yield "co_corpus_christi", moved(_easter(year, 60)), _lt("Corpus Christi")
    yield "co_sacred_heart", moved(_easter(year, 68)), _lt("Sacred Heart")
    yield (
        "co_saints_peter_paul",
        moved(dt.date(year, 6, 29)),
        _lt("Saints Peter and Paul"),
    )
    yield "co_independence", dt.date(year, 7, 20), _lt("Independence Day")
    yield "co_boyaca", dt.date(year, 8, 7), _lt("Battle of Boyacá")
    yield "co_assumption", moved(dt.date(year, 8, 15)), _lt("Assumption Day")
    yield "co_race", moved(dt.date(year, 10, 12)), _lt("Columbus Day")
    yield "co_all_saints", moved(dt.date(year, 11, 1)), _lt("All Saints' Day")
    yield (
        "co_cartagena",
        moved(dt.date(year, 11, 11)),
        _lt("Independence of Cartagena"),
    )
    yield (
        "co_immaculate_conception",
        dt.date(year, 12, 8),
        _lt("Immaculate Conception"),
    )
    yield "co_christmas", dt.date(year, 12, 25), _lt("Christmas Day")


def _chile_solstice(year: int) -> dt.date:
    """June solstice in Chile's time (UTC-4 in June), per Ley 21.357.

    From 2021 to 2075 the solstice falls on June 21 in Chile in the third and
    fourth years of each leap cycle (year % 4 in 2, 3) and on June 20 in the
    others, except that from 2047 the third year moves to June 20 too, as the
    solstice drifts earlier within the Gregorian cycle.  Later years use June 20.
    """
    if year == 2021:  # first year, set by the law itself
        return dt.date(year, 6, 21)
    late = (year % 4 >= 2 and year <= 2046) or (year % 4 == 3 and year <= 2075)
    return dt.date(year, 6, 21 if late else 20)


def _chile(year: int) -> Iterator[tuple[str, dt.date, str]]:
    """Ley 2.977 and its amendments (years from 2008 on)."""
    yield "cl_new_year", dt.date(year, 1, 1), _lt("New Year's Day")
    # Ley 20.983: January 2 when New Year's Day falls on a Sunday.
    if year >= 2017 and dt.date(year, 1, 1).weekday() == _SUNDAY:
        yield "cl_new_year_bridge", dt.date(year, 1, 2), _lt("National Holiday")
    yield "cl_good_friday", _easter(year, -2), _lt("Good Friday")
    yield "cl_holy_saturday", _easter(year, -1), _lt("Holy Saturday")
    yield "cl_labour", dt.date(year, 5, 1), _lt("Labour Day")
    yield "cl_navy", dt.date(year, 5, 21), _lt("Navy Day")
    if year >= 2021:  # Ley 21.357
        yield (
            "cl_indigenous_peoples",
            _chile_solstice(year),
            _lt("National Day of Indigenous Peoples"),
        )
    yield (
        "cl_saints_peter_paul",
        _chile_monday(dt.date(year, 6, 29)),
        _lt("Saints Peter and Paul"),
    )
    yield "cl_carmen", dt.date(year, 7, 16), _lt("Our Lady of Mount Carmel")
    yield "cl_assumption", dt.date(year, 8, 15), _lt("Assumption Day")
    september_18 = dt.date(year, 9, 18).weekday()
    # Ley 20.215: Monday 17 when the 18th is a Tuesday; Ley 20.983 (2017): Friday
    # 17 when the 18th is a Saturday.
    if september_18 == _TUESDAY or (year >= 2017 and september_18 == _SATURDAY):
        yield "cl_national_holiday_17", dt.date(year, 9, 17), _lt("National Holiday")
    yield "cl_independence", dt.date(year, 9, 18), _lt("Independence Day")
    yield "cl_army", dt.date(year, 9, 19), _lt("Army Day")
    # Ley 20.215: Friday 20 when the 19th is a Thursday.
    if dt.date(year, 9, 19).weekday() == _THURSDAY:
        yield "cl_national_holiday_20", dt.date(year, 9, 20), _lt("National Holiday")
    yield (
        "cl_two_worlds",
        _chile_monday(dt.date(year, 10, 12)),
        _lt("Meeting of Two Worlds Day"),
    )
    # Ley 20.299: October 31, moved to the Friday before when it is a Tuesday and
    # to the Friday after when it is a Wednesday.
    reformation = dt.date(year, 10, 31)
    if reformation.weekday() == _TUESDAY:
        reformation -= dt.timedelta(days=4)
    elif reformation.weekday() == _WEDNESDAY:
        reformation += dt.timedelta(days=2)
    yield (
        "cl_evangelical_churches",
        reformation,
        _lt("Day of the Evangelical and Protestant Churches"),
    )
    yield "cl_all_saints", dt.date(year, 11, 1), _lt("All Saints' Day")
    yield (
        "cl_immaculate_conception",
        dt.date(year, 12, 8),
        _lt("Immaculate Conception"),
    )
    yield "cl_christmas", dt.date(year, 12, 25), _lt("Christmas Day")


def _peru(year: int) -> Iterator[tuple[str, dt.date, str]]:
    """Decreto Legislativo 713, art. 6, and the laws that added days to it."""
    yield "pe_new_year", dt.date(year, 1, 1), _lt("New Year's Day")
    yield "pe_maundy_thursday", _easter(year, -3), _lt("Maundy Thursday")
    yield "pe_good_friday", _easter(year, -2), _lt("Good Friday")
    yield "pe_labour", dt.date(year, 5, 1), _lt("Labour Day")
    if year >= 2024:  # added in 2023, first observed in 2024
        yield "pe_flag", dt.date(year, 6, 7), _lt("Battle of Arica and Flag Day")
    yield "pe_saints_peter_paul", dt.date(year, 6, 29), _lt("Saints Peter and Paul")
    if year >= 2023:
        yield "pe_air_force", dt.date(year, 7, 23), _lt("Peruvian Air Force Day")
    yield "pe_independence", dt.date(year, 7, 28), _lt("Independence Day")
    yield "pe_military_parade", dt.date(year, 7, 29), _lt("Great Military Parade Day")
    if year >= 2022:
        yield "pe_junin", dt.date(year, 8, 6), _lt("Battle of Junín")
    yield "pe_santa_rosa", dt.date(year, 8, 30), _lt("Saint Rose of Lima")
    yield "pe_angamos", dt.date(year, 10, 8), _lt("Battle of Angamos")
    yield "pe_all_saints", dt.date(year, 11, 1), _lt("All Saints' Day")
    yield (
        "pe_immaculate_conception",
        dt.date(year, 12, 8),
        _lt("Immaculate Conception"),
    )
    if year >= 2022:
        yield "pe_ayacucho", dt.date(year, 12, 9), _lt("Battle of Ayacucho")
    yield "pe_christmas", dt.date(year, 12, 25), _lt("Christmas Day")


def _spain(year: int) -> Iterator[tuple[str, dt.date, str]]:
    """The national days of Real Decreto 2001/1983, art. 45, that every region
    keeps.  Epiphany may legally be replaced by a region but none does; Maundy
    Thursday, Easter Monday, March 19 and July 25 differ by region and are left
    to users, as are the Mondays that replace a holiday falling on a Sunday."""
    yield "es_new_year", dt.date(year, 1, 1), _lt("New Year's Day")
    yield "es_epiphany", dt.date(year, 1, 6), _lt("Epiphany")
    yield "es_good_friday", _easter(year, -2), _lt("Good Friday")
    yield "es_labour", dt.date(year, 5, 1), _lt("Labour Day")
    yield "es_assumption", dt.date(year, 8, 15), _lt("Assumption Day")
    yield "es_national_day", dt.date(year, 10, 12), _lt("National Day of Spain")
    yield "es_all_saints", dt.date(year, 11, 1), _lt("All Saints' Day")
    yield "es_constitution", dt.date(year, 12, 6), _lt("Constitution Day")
    yield (
        "es_immaculate_conception",
        dt.date(year, 12, 8),
        _lt("Immaculate Conception"),
    )
    yield "es_christmas", dt.date(year, 12, 25), _lt("Christmas Day")


# ISO 3166-1 alpha-2 code (res.country.code) -> rules.
_RULES: dict[str, Rule] = {
    "CL": _chile,
    "CO": _colombia,
    "ES": _spain,
    "MX": _mexico,
    "PE": _peru,
}


def supported_countries() -> tuple[str, ...]:
    """Country codes with rules, sorted."""
    return tuple(sorted(_RULES))


@functools.lru_cache(maxsize=256, typed=True)
def holidays(country_code: str | None, year: int) -> tuple[Holiday, ...]:
    """The statutory rest days of ``country_code`` in ``year``, by date.

    An unknown or empty country code gives no day (the caller may still have
    days of its own).  Raises ValueError for a year outside 1900-9998.
    """
    if isinstance(year, bool) or not isinstance(year, int):
        raise ValueError(f"year must be an integer, got {year!r}")
    if not 1900 <= year <= 9998:
        raise ValueError(f"year must be within 1900-9998, got {year!r}")
    rule = _RULES.get((country_code or "").upper())
    if rule is None:
        return ()
    return tuple(sorted(Holiday(day, code, name) for code, day, name in rule(year)))


def holidays_between(
    country_code: str | None, date_from: dt.date, date_to: dt.date
) -> tuple[Holiday, ...]:
    """The statutory rest days of ``country_code`` from ``date_from`` to
    ``date_to``, both included, by date."""
    if date_from > date_to:
        return ()
    return tuple(
        holiday
        for year in range(date_from.year, date_to.year + 1)
        for holiday in holidays(country_code, year)
        if date_from <= holiday.date <= date_to
    )
