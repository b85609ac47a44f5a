"""Unit tests of services.holidays (pure Python, no Odoo needed).

Expected dates are the published calendars of each country for those years.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

# The add-on root is an Odoo package; import the pure service module directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.holidays import (  # noqa: E402
    holidays,
    holidays_between,
    supported_countries,
)

D = dt.date


def dates(country, year):
    return [holiday.date for holiday in holidays(country, year)]


def codes(country, year):
    return {holiday.code: holiday.date for holiday in holidays(country, year)}


# --- Mexico (Ley Federal del Trabajo, art. 74) ------------------------------------


def test_mexico_2026():
    assert dates("MX", 2026) == [
        D(2026, 1, 1),
        D(2026, 2, 2),
        D(2026, 3, 16),
        D(2026, 5, 1),
        D(2026, 9, 16),
        D(2026, 11, 16),
        D(2026, 12, 25),
    ]


def test_mexico_2028_has_its_holidays():
    """The fixed list shipped before ran out after 2027."""
    assert dates("MX", 2028) == [
        D(2028, 1, 1),
        D(2028, 2, 7),
        D(2028, 3, 20),
        D(2028, 5, 1),
        D(2028, 9, 16),
        D(2028, 11, 20),
        D(2028, 12, 25),
    ]


@pytest.mark.parametrize("year", [2024, 2030, 2036, 2042])
def test_mexico_transmission_of_power_on_october_1_every_six_years(year):
    assert codes("MX", year)["mx_transmission"] == D(year, 10, 1)


@pytest.mark.parametrize("year", [2025, 2026, 2027, 2028, 2029, 2031, 2035])
def test_mexico_no_transmission_of_power_in_other_years(year):
    assert "mx_transmission" not in codes("MX", year)


def test_mexico_transmission_of_power_on_december_1_before_2024():
    assert codes("MX", 2018)["mx_transmission"] == D(2018, 12, 1)
    assert codes("MX", 2012)["mx_transmission"] == D(2012, 12, 1)


def test_mexico_2030_mondays():
    found = codes("MX", 2030)
    assert found["mx_constitution"] == D(2030, 2, 4)
    assert found["mx_juarez"] == D(2030, 3, 18)
    assert found["mx_revolution"] == D(2030, 11, 18)


def test_mexico_before_2006_used_the_anniversaries():
    found = codes("MX", 2005)
    assert found["mx_constitution"] == D(2005, 2, 5)
    assert found["mx_juarez"] == D(2005, 3, 21)
    assert found["mx_revolution"] == D(2005, 11, 20)


@pytest.mark.parametrize("year", range(2006, 2060))
def test_mexico_monday_rules_land_on_mondays_in_range(year):
    found = codes("MX", year)
    assert found["mx_constitution"].weekday() == 0
    assert 1 <= found["mx_constitution"].day <= 7
    assert found["mx_juarez"].weekday() == 0
    assert 15 <= found["mx_juarez"].day <= 21
    assert found["mx_revolution"].weekday() == 0
    assert 15 <= found["mx_revolution"].day <= 21


# --- Easter -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "easter_sunday"),
    [
        (2008, D(2008, 3, 23)),
        (2019, D(2019, 4, 21)),
        (2024, D(2024, 3, 31)),
        (2025, D(2025, 4, 20)),
        (2026, D(2026, 4, 5)),
        (2027, D(2027, 3, 28)),
        (2038, D(2038, 4, 25)),
    ],
)
def test_good_friday_is_two_days_before_easter(year, easter_sunday):
    good_friday = easter_sunday - dt.timedelta(days=2)
    for country in ("CO", "CL", "PE", "ES"):
        assert codes(country, year)[f"{country.lower()}_good_friday"] == good_friday


def test_maundy_thursday_in_peru_and_colombia():
    assert codes("PE", 2024)["pe_maundy_thursday"] == D(2024, 3, 28)
    assert codes("CO", 2026)["co_maundy_thursday"] == D(2026, 4, 2)


def test_chile_holy_saturday():
    assert codes("CL", 2026)["cl_holy_saturday"] == D(2026, 4, 4)


# --- Colombia (Ley 51 de 1983) ------------------------------------------------


def test_colombia_2026():
    assert dates("CO", 2026) == [
        D(2026, 1, 1),
        D(2026, 1, 12),  # Epiphany, Tuesday 6 -> Monday 12
        D(2026, 3, 23),  # Saint Joseph, Thursday 19 -> Monday 23
        D(2026, 4, 2),
        D(2026, 4, 3),
        D(2026, 5, 1),
        D(2026, 5, 18),  # Ascension
        D(2026, 6, 8),  # Corpus Christi
        D(2026, 6, 15),  # Sacred Heart
        D(2026, 6, 29),  # Saints Peter and Paul, a Monday: stays
        D(2026, 7, 20),
        D(2026, 8, 7),
        D(2026, 8, 17),  # Assumption, Saturday 15 -> Monday 17
        D(2026, 10, 12),
        D(2026, 11, 2),  # All Saints, Sunday 1 -> Monday 2
        D(2026, 11, 16),  # Cartagena, Wednesday 11 -> Monday 16
        D(2026, 12, 8),
        D(2026, 12, 25),
    ]


def test_colombia_two_rules_on_one_monday():
    """2025: the Sacred Heart and Saints Peter and Paul both fall on June 30."""
    found = codes("CO", 2025)
    assert found["co_sacred_heart"] == D(2025, 6, 30)
    assert found["co_saints_peter_paul"] == D(2025, 6, 30)
    assert found["co_ascension"] == D(2025, 6, 2)
    assert found["co_corpus_christi"] == D(2025, 6, 23)


@pytest.mark.parametrize("year", range(1990, 2060))
def test_colombia_moved_days_are_mondays(year):
    found = codes("CO", year)
    for code in (
        "co_epiphany",
        "co_saint_joseph",
        "co_ascension",
        "co_corpus_christi",
        "co_sacred_heart",
        "co_saints_peter_paul",
        "co_assumption",
        "co_race",
        "co_all_saints",
        "co_cartagena",
    ):
        assert found[code].weekday() == 0, code


# --- Chile --------------------------------------------------------------------


def test_chile_2026():
    assert dates("CL", 2026) == [
        D(2026, 1, 1),
        D(2026, 4, 3),
        D(2026, 4, 4),
        D(2026, 5, 1),
        D(2026, 5, 21),
        D(2026, 6, 21),
        D(2026, 6, 29),
        D(2026, 7, 16),
        D(2026, 8, 15),
        D(2026, 9, 18),
        D(2026, 9, 19),
        D(2026, 10, 12),
        D(2026, 10, 31),
        D(2026, 11, 1),
        D(2026, 12, 8),
        D(2026, 12, 25),
    ]


def test_chile_monday_rule():
    # Tuesday 2027-06-29 -> Monday 28; Friday 2029-10-12 -> Monday 15.
    assert codes("CL", 2027)["cl_saints_peter_paul"] == D(2027, 6, 28)
    assert codes("CL", 2029)["cl_two_worlds"] == D(2029, 10, 15)
    # Sunday 2025-10-12 stays.
    assert codes("CL", 2025)["cl_two_worlds"] == D(2025, 10, 12)


def test_chile_evangelical_churches_day_moves_to_a_friday():
    assert codes("CL", 2028)["cl_evangelical_churches"] == D(2028, 10, 27)
    assert codes("CL", 2029)["cl_evangelical_churches"] == D(2029, 11, 2)
    assert codes("CL", 2025)["cl_evangelical_churches"] == D(2025, 10, 31)


def test_chile_september_bridges():
    assert codes("CL", 2024)["cl_national_holiday_20"] == D(2024, 9, 20)
    assert codes("CL", 2027)["cl_national_holiday_17"] == D(2027, 9, 17)
    assert codes("CL", 2029)["cl_national_holiday_17"] == D(2029, 9, 17)
    found = codes("CL", 2026)
    assert "cl_national_holiday_17" not in found
    assert "cl_national_holiday_20" not in found


def test_chile_january_2_after_a_sunday_new_year():
    assert codes("CL", 2023)["cl_new_year_bridge"] == D(2023, 1, 2)
    assert "cl_new_year_bridge" not in codes("CL", 2026)


def test_chile_indigenous_peoples_day_is_the_solstice():
    found = {
        year: codes("CL", year)["cl_indigenous_peoples"] for year in range(2022, 2029)
    }
    assert found == {
        2022: D(2022, 6, 21),
        2023: D(2023, 6, 21),
        2024: D(2024, 6, 20),
        2025: D(2025, 6, 20),
        2026: D(2026, 6, 21),
        2027: D(2027, 6, 21),
        2028: D(2028, 6, 20),
    }


# --- Peru and Spain -------------------------------------------------------------


def test_peru_2026():
    assert dates("PE", 2026) == [
        D(2026, 1, 1),
        D(2026, 4, 2),
        D(2026, 4, 3),
        D(2026, 5, 1),
        D(2026, 6, 7),
        D(2026, 6, 29),
        D(2026, 7, 23),
        D(2026, 7, 28),
        D(2026, 7, 29),
        D(2026, 8, 6),
        D(2026, 8, 30),
        D(2026, 10, 8),
        D(2026, 11, 1),
        D(2026, 12, 8),
        D(2026, 12, 9),
        D(2026, 12, 25),
    ]


def test_spain_2026():
    assert dates("ES", 2026) == [
        D(2026, 1, 1),
        D(2026, 1, 6),
        D(2026, 4, 3),
        D(2026, 5, 1),
        D(2026, 8, 15),
        D(2026, 10, 12),
        D(2026, 11, 1),
        D(2026, 12, 6),
        D(2026, 12, 8),
        D(2026, 12, 25),
    ]


# --- API ------------------------------------------------------------------------


def test_supported_countries():
    assert supported_countries() == ("CL", "CO", "ES", "MX", "PE")


@pytest.mark.parametrize("country", [None, "", "US", "ZZ"])
def test_unknown_country_has_no_day(country):
    assert holidays(country, 2026) == ()


def test_country_code_is_case_insensitive():
    assert holidays("mx", 2026) == holidays("MX", 2026)


@pytest.mark.parametrize("year", [1899, 9999, "2026", 2026.0, True])
def test_invalid_year_is_refused(year):
    with pytest.raises(ValueError):
        holidays("MX", year)


@pytest.mark.parametrize("country", ["CL", "CO", "ES", "MX", "PE"])
@pytest.mark.parametrize("year", range(2000, 2101))
def test_codes_are_unique_within_a_year(country, year):
    found = holidays(country, year)
    assert len({holiday.code for holiday in found}) == len(found)
    assert all(holiday.date.year == year for holiday in found)
    assert list(found) == sorted(found)


def test_between_spans_years_and_includes_both_ends():
    found = holidays_between("MX", D(2027, 12, 25), D(2028, 1, 1))
    assert [holiday.date for holiday in found] == [D(2027, 12, 25), D(2028, 1, 1)]


def test_between_reversed_span_is_empty():
    assert holidays_between("MX", D(2028, 1, 2), D(2028, 1, 1)) == ()
