"""Unit tests of services.timezones (pure Python, no Odoo needed)."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

import pytest

# The add-on root is an Odoo package; import the pure service modules directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services import timezones  # noqa: E402
from services.contact_window import (  # noqa: E402
    ContactWindow,
    next_opening,
    resolve_zone,
)
from services.timezones import (  # noqa: E402
    country_timezones,
    is_valid_timezone,
    partner_timezones,
)

_ODOO_STATES = (
    Path.home() / ".cache/odoo-src/18.0/odoo/addons/base/data/res.country.state.csv"
)
MX_ALL = {
    "America/Tijuana",
    "America/Hermosillo",
    "America/Mazatlan",
    "America/Chihuahua",
    "America/Mexico_City",
    "America/Cancun",
}


def test_partner_tz_wins():
    """The partner's own zone beats its state and country."""
    assert partner_timezones("Europe/Madrid", "MX", "BCN") == ("Europe/Madrid",)
    assert partner_timezones("America/Cancun", "MX", None) == ("America/Cancun",)
    # Chile's Easter Island is only reachable through the partner's tz.
    assert partner_timezones("Pacific/Easter", "CL", "05") == ("Pacific/Easter",)


@pytest.mark.parametrize("tz", ["garbage", "", "   ", "Mexico City", None, 42])
def test_invalid_partner_tz_is_ignored(tz):
    """A bad tz falls through to the state/country rules."""
    assert partner_timezones(tz, "MX", "BCN") == ("America/Tijuana",)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("BCN", ("America/Tijuana",)),  # Odoo's code for Baja California
        ("BC", ("America/Tijuana",)),
        ("BCS", ("America/Mazatlan",)),
        ("SON", ("America/Hermosillo",)),
        ("SIN", ("America/Mazatlan",)),
        ("ROO", ("America/Cancun",)),
        ("CMX", ("America/Mexico_City",)),  # Odoo's code for Ciudad de México
        ("DIF", ("America/Mexico_City",)),  # pre-2016 name, default rule
        ("JAL", ("America/Mexico_City",)),
        ("YUC", ("America/Mexico_City",)),
        ("roo", ("America/Cancun",)),  # case-insensitive
    ],
)
def test_mexican_states(state, expected):
    """Mexico by Odoo state code."""
    assert partner_timezones(None, "MX", state) == expected


def test_mexican_split_states_get_every_zone():
    """States crossed by a zone boundary give the primary zone first plus the rest."""
    assert partner_timezones(None, "MX", "NAY")[0] == "America/Mazatlan"
    assert "America/Bahia_Banderas" in partner_timezones(None, "MX", "NAY")
    assert partner_timezones(None, "MX", "CHH")[0] == "America/Chihuahua"
    assert "America/Ciudad_Juarez" in partner_timezones(None, "MX", "CHH")
    assert partner_timezones(None, "MX", "TAM")[0] == "America/Mexico_City"


def test_mexico_without_state_gives_all_zones():
    """Unknown state: all Mexican zones, so the window must fit all of them."""
    zones = partner_timezones(None, "mx", None)
    assert set(zones) >= MX_ALL
    assert zones[0] == "America/Mexico_City"


def test_mexican_state_codes_exist_in_odoo():
    """Each mapped code (except the documented aliases) is an Odoo state code."""
    if not _ODOO_STATES.is_file():
        pytest.skip("Odoo source not available")
    with _ODOO_STATES.open(encoding="utf-8") as handle:
        codes = {
            row["code"]
            for row in csv.DictReader(handle)
            if row["country_id:id"] == "mx"
        }
    assert set(timezones._MX_STATES) - {"BC"} <= codes
    assert {"BCN", "CMX", "JAL", "ROO", "SON"} <= codes


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("CO", ("America/Bogota",)),
        ("co", ("America/Bogota",)),
        ("PE", ("America/Lima",)),
    ],
)
def test_single_zone_countries(country, expected):
    """Most Latin American countries have one zone."""
    assert partner_timezones(None, country, None) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("CA", ("America/Los_Angeles",)),
        ("NY", ("America/New_York",)),
        ("IL", ("America/Chicago",)),
        ("CO", ("America/Denver",)),
        ("HI", ("Pacific/Honolulu",)),
        ("PR", ("America/Puerto_Rico",)),
        ("TX", ("America/Chicago", "America/Denver")),
        ("AZ", ("America/Phoenix", "America/Denver")),  # Navajo Nation has DST
    ],
)
def test_us_states(state, expected):
    """US by USPS code; split states get both zones."""
    assert partner_timezones(None, "US", state) == expected


@pytest.mark.parametrize("state", [None, "", "AE", "ZZ"])
def test_us_unknown_state_gives_every_rule_set(state):
    """Unknown US state: one zone per current rule set of the 50 states."""
    zones = partner_timezones(None, "US", state)
    assert {
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Phoenix",
        "America/Los_Angeles",
        "America/Anchorage",
        "Pacific/Honolulu",
    } <= set(zones)
    # Regulation F's 08:00-21:00 still leaves a common window.
    window = ContactWindow(8.0, 21.0, frozenset(range(7)))
    assert next_opening(window, dt.datetime(2026, 7, 13, 3, 0), zones) is not None


def test_spain():
    """Canary Islands are an hour behind; no province: both."""
    assert partner_timezones(None, "ES", "TF") == ("Atlantic/Canary",)
    assert partner_timezones(None, "ES", "GC") == ("Atlantic/Canary",)
    assert partner_timezones(None, "ES", "M") == ("Europe/Madrid",)
    assert {"Europe/Madrid", "Atlantic/Canary"} <= set(
        partner_timezones(None, "ES", None)
    )


def test_chile():
    """Mainland zones only unless the partner's tz says Easter Island."""
    zones = partner_timezones(None, "CL", None)
    assert zones[0] == "America/Santiago"
    assert "Pacific/Easter" not in zones
    assert partner_timezones(None, "CL", "13") == ("America/Santiago",)
    assert partner_timezones(None, "CL", "05") == ("America/Santiago",)
    assert partner_timezones(None, "CL", "12") == ("America/Punta_Arenas",)
    assert len(partner_timezones(None, "CL", "11")) == 1


def test_other_multi_zone_countries_give_all_zones():
    """Brazil and Argentina: every zone of the country."""
    assert len(partner_timezones(None, "BR", None)) > 1
    assert "America/Sao_Paulo" in partner_timezones(None, "BR", "SP")
    assert "America/Argentina/Buenos_Aires" in partner_timezones(None, "AR", None)


@pytest.mark.parametrize(
    ("tz", "country", "state"),
    [(None, None, None), ("", "", ""), (None, "XX", None), ("nope", None, "BCN")],
)
def test_nothing_known_gives_empty(tz, country, state):
    """Nothing usable: () so the caller picks (and logs) a fallback itself."""
    assert partner_timezones(tz, country, state) == ()


def test_every_mapped_zone_is_usable():
    """Every zone the maps can return loads for the contact window checks."""
    maps = (
        timezones._MX_STATES,
        timezones._US_STATES,
        timezones._ES_STATES,
        timezones._CL_STATES,
    )
    names = {name for mapping in maps for zones in mapping.values() for name in zones}
    names |= set(timezones._US_DEFAULT) | set(timezones._CL_DEFAULT)
    names.discard("America/Coyhaique")  # only in tzdata >= 2025b
    for name in names:
        assert is_valid_timezone(name), name
        resolve_zone(name)
    for country in ("MX", "US", "CO", "CL", "PE", "AR", "ES", "BR"):
        for name in country_timezones(country):
            resolve_zone(name)


def test_is_valid_timezone():
    """Known IANA names only."""
    assert is_valid_timezone("America/Mexico_City")
    assert not is_valid_timezone("America/Atlantis")
    assert not is_valid_timezone(None)
    assert country_timezones(None) == ()
    assert country_timezones("xx") == ()
