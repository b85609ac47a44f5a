"""The debtor's possible time zones, derived from the partner's own data.

Contact windows are defined in the DEBTOR's local time (see
:mod:`.contact_window`), so each debtor needs a time zone: the partner's own
``tz`` when set, otherwise the zones its state or country may be in.  When the
data cannot tell which of several zones applies, all of them are returned and the
window has to fit all of them (Regulation F, 12 CFR 1006.6(b)(1)(i), says so for
the US; the same prudence is applied elsewhere).  The company's zone is never
taken silently: with nothing known an empty tuple is returned and the caller
decides, and logs, its fallback.

Pure Python (no Odoo import).  Zone names are IANA names of the tz database,
checked against :mod:`zoneinfo` and, when installed (always with Odoo), pytz.
"""

from __future__ import annotations

import functools
import importlib.resources
import zoneinfo
from collections.abc import Iterable
from pathlib import Path

__all__ = ["country_timezones", "is_valid_timezone", "partner_timezones"]

# Mexico, by the codes of Odoo's res.country.state (base/data/res.country.state.csv;
# Baja California is "BCN" and Ciudad de México "CMX" there).  Since the 2022 law
# (Ley de los Husos Horarios, DOF 2022-10-28) only the US border strip keeps DST.
# States split between zones of different offsets get every zone, so that the
# window fits wherever the debtor is in the state:
# - Nayarit: Bahía de Banderas follows Mexico City time (America/Bahia_Banderas),
#   the rest Pacific time (America/Mazatlan).
# - Chihuahua: Ciudad Juárez keeps US Mountain DST (America/Ciudad_Juarez), Ojinaga
#   US Central DST (America/Ojinaga), the rest UTC-6 all year (America/Chihuahua).
# - Coahuila, Nuevo León, Tamaulipas: the border municipalities keep US Central
#   DST (America/Matamoros), the rest follows Mexico City.
_MX_CENTRAL = "America/Mexico_City"
_MX_STATES: dict[str, tuple[str, ...]] = {
    "BCN": ("America/Tijuana",),
    "BC": ("America/Tijuana",),  # older data / other sources use "BC"
    "BCS": ("America/Mazatlan",),
    "SON": ("America/Hermosillo",),  # UTC-7 all year since 1999
    "SIN": ("America/Mazatlan",),
    "NAY": ("America/Mazatlan", "America/Bahia_Banderas"),
    "CHH": ("America/Chihuahua", "America/Ciudad_Juarez", "America/Ojinaga"),
    "COA": (_MX_CENTRAL, "America/Matamoros"),
    "NLE": (_MX_CENTRAL, "America/Matamoros"),
    "TAM": (_MX_CENTRAL, "America/Matamoros"),
    "ROO": ("America/Cancun",),  # UTC-5 all year since 2015
}

# United States, by USPS code (Odoo uses them).  One representative zone per
# current rule set (e.g. America/New_York stands for Detroit and the Indiana and
# Kentucky zones, which follow Eastern time today); states crossed by a zone
# boundary get both zones.  Arizona observes no DST, but the Navajo Nation does.
_NY, _CHI, _DEN = "America/New_York", "America/Chicago", "America/Denver"
_PHX, _LA = "America/Phoenix", "America/Los_Angeles"
_US_STATES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        "CT DC DE GA MA MD ME NC NH NJ NY OH PA RI SC VA VT WV".split(), (_NY,)
    ),
    **dict.fromkeys(("FL", "IN", "KY", "MI", "TN"), (_NY, _CHI)),
    **dict.fromkeys(
        ("AL", "AR", "IA", "IL", "LA", "MN", "MO", "MS", "OK", "WI"), (_CHI,)
    ),
    **dict.fromkeys(("KS", "ND", "NE", "SD", "TX"), (_CHI, _DEN)),
    **dict.fromkeys(("CO", "MT", "NM", "UT", "WY"), (_DEN,)),
    "AZ": (_PHX, _DEN),
    "ID": (_DEN, _LA),
    "OR": (_LA, _DEN),
    **dict.fromkeys(("CA", "NV", "WA"), (_LA,)),
    "AK": ("America/Anchorage", "America/Adak"),
    "HI": ("Pacific/Honolulu",),
    "PR": ("America/Puerto_Rico",),
    "VI": ("America/St_Thomas",),
    "GU": ("Pacific/Guam",),
    "MP": ("Pacific/Saipan",),
    "AS": ("Pacific/Pago_Pago",),
}
# Unknown or missing US state: every current rule set of the 50 states.  The
# territories and freely associated states (Odoo lists FM, MH, PW, AS, GU...) are
# left out: the debtor's address would name them, and Guam (UTC+10) would leave
# almost no common hour.
_US_DEFAULT = (
    _NY,
    _CHI,
    _DEN,
    _PHX,
    _LA,
    "America/Anchorage",
    "America/Adak",
    "Pacific/Honolulu",
)

# Spain: the Canary Islands (provinces Las Palmas "GC" and Santa Cruz de Tenerife
# "TF") are one hour behind the peninsula; Ceuta "CE" and Melilla "ME" are Africa/
# Ceuta (same clock as Madrid).
_ES_STATES: dict[str, tuple[str, ...]] = {
    "GC": ("Atlantic/Canary",),
    "TF": ("Atlantic/Canary",),
    "CE": ("Africa/Ceuta",),
    "ME": ("Africa/Ceuta",),
}

# Chile, by Odoo's region numbers: Magallanes ("12") has been UTC-3 all year since
# 2016 and Aysén ("11") since 2025 (America/Coyhaique, tzdata 2025b; America/
# Punta_Arenas has the same rule for older tz databases).  Easter Island
# (Pacific/Easter, two hours behind) belongs to Valparaíso ("05") but holds about
# 0.05% of the population: it is only used when the partner's own tz says so,
# instead of cutting two hours off the window of every debtor in Valparaíso.
_CL_MAINLAND = "America/Santiago"
_CL_STATES: dict[str, tuple[str, ...]] = {
    "11": ("America/Coyhaique", "America/Punta_Arenas"),
    "12": ("America/Punta_Arenas",),
}
_CL_DEFAULT = (_CL_MAINLAND, "America/Punta_Arenas", "America/Coyhaique")


@functools.lru_cache(maxsize=1)
def _zoneinfo_names() -> frozenset[str]:
    """Zone names of the tz database zoneinfo uses (scans the disk once)."""
    return frozenset(zoneinfo.available_timezones())


@functools.lru_cache(maxsize=1)
def _pytz_names() -> frozenset[str]:
    """Zone names pytz knows (Odoo's tz selection), empty without pytz."""
    try:
        import pytz  # noqa: PLC0415 - optional: present wherever Odoo is
    except ImportError:
        return frozenset()
    return frozenset(pytz.all_timezones)


def is_valid_timezone(name: object) -> bool:
    """Whether ``name`` is a zone name known to zoneinfo or pytz."""
    if not isinstance(name, str) or not name.strip():
        return False
    return name in _zoneinfo_names() or name in _pytz_names()


def _zone_tab_lines() -> Iterable[str]:
    """Lines of the tz database's zone.tab (country code -> zone names)."""
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8").splitlines()
    try:
        # The tzdata PyPI package (used where the OS has no tz database).
        resource = importlib.resources.files("tzdata.zoneinfo") / "zone.tab"
        return resource.read_text(encoding="utf-8").splitlines()
    except (ImportError, OSError):
        return []


@functools.lru_cache(maxsize=1)
def _country_table() -> dict[str, tuple[str, ...]]:
    """ISO 3166 country code -> zone names, from pytz or else zone.tab."""
    try:
        import pytz  # noqa: PLC0415 - optional: present wherever Odoo is
    except ImportError:
        pytz = None
    if pytz is not None:
        return {code: tuple(zones) for code, zones in pytz.country_timezones.items()}
    table: dict[str, list[str]] = {}
    for line in _zone_tab_lines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            table.setdefault(fields[0].upper(), []).append(fields[2])
    return {code: tuple(zones) for code, zones in table.items()}


def _known(names: Iterable[str]) -> tuple[str, ...]:
    """Keep the valid names only, without duplicates, in order."""
    return tuple(name for name in dict.fromkeys(names) if is_valid_timezone(name))


def country_timezones(country_code: str | None) -> tuple[str, ...]:
    """All zone names of a country (ISO 3166 alpha-2), () when unknown."""
    code = (country_code or "").strip().upper()
    if not code:
        return ()
    return _known(_country_table().get(code, ()))


def partner_timezones(
    tz: str | None, country_code: str | None, state_code: str | None
) -> tuple[str, ...]:
    """Return the zone names a debtor may be in, most likely first.

    - a valid ``tz`` of the partner wins: ``(tz,)``;
    - else Mexico, the United States, Spain and Chile by state (see the maps
      above), all the country's zones when the state is unknown (the US: one zone
      per rule set of the 50 states; Chile: the mainland zones);
    - else every zone of the country (one for most countries; several, e.g.
      Brazil or Argentina, and then the window must fit all of them);
    - else ``()``: the caller falls back to the company's zone explicitly and
      logs it.
    """
    if is_valid_timezone(tz):
        return (tz,)  # type: ignore[return-value]  # checked to be a str
    country = (country_code or "").strip().upper()
    state = (state_code or "").strip().upper()
    if not country:
        return ()
    if country == "MX":
        if state:
            return _known(_MX_STATES.get(state, (_MX_CENTRAL,)))
        return country_timezones(country)
    if country == "US":
        return _known(_US_STATES.get(state, _US_DEFAULT))
    if country == "ES" and state:
        return _known(_ES_STATES.get(state, ("Europe/Madrid",)))
    if country == "CL":
        if state == "11":
            # One zone is enough: both have the same rule; the older db lacks one.
            return _known(_CL_STATES[state])[:1]
        if state:
            return _known(_CL_STATES.get(state, (_CL_MAINLAND,)))
        return _known(_CL_DEFAULT)
    return country_timezones(country)
