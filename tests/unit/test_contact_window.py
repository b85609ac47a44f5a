"""Unit tests of services.contact_window (pure Python, no Odoo needed).

Every instant is passed explicitly (no frozen clock).  Expected UTC values come
from the tz database rules in force for 2026: Mexico City and Cancun have no DST
(Mexico abolished it in 2022, Quintana Roo is UTC-5 all year), Tijuana and the US
follow US DST (2026-03-08 to 2026-11-01).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import types
import zoneinfo
from pathlib import Path

import pytest

# The add-on root is an Odoo package; import the pure service module directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.contact_window import (  # noqa: E402
    ContactWindow,
    describe,
    is_open,
    next_opening,
    resolve_zone,
)

MON_FRI = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
MX = ["America/Mexico_City"]
TIJUANA = ["America/Tijuana"]
CANCUN = ["America/Cancun"]
BOGOTA = ["America/Bogota"]
NY_LA = ["America/New_York", "America/Los_Angeles"]

# Mexico's conservative practice: Mon-Fri 08:00-20:00.
CONSERVATIVE = ContactWindow(8.0, 20.0, MON_FRI)
# Colombia, Ley 2300 de 2023: Mon-Fri 07:00-19:00, Sat 08:00-15:00.
COLOMBIA = ContactWindow(
    7.0, 19.0, frozenset(range(6)), saturday_hour_to=15.0, saturday_hour_from=8.0
)
# United States, Regulation F: 08:00-21:00.
REG_F = ContactWindow(8.0, 21.0, EVERY_DAY)


def utc(*args: int) -> dt.datetime:
    """Naive UTC datetime, Odoo's storage convention."""
    return dt.datetime(*args)


# --- boundaries -------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 11, 17, 13, 59, 59), False),  # 07:59:59 CST
        (utc(2026, 11, 17, 14, 0, 0), True),  # 08:00:00 opens
        (utc(2026, 11, 18, 1, 59, 59), True),  # 19:59:59
        (utc(2026, 11, 18, 2, 0, 0), False),  # 20:00:00 is already closed
    ],
)
def test_boundaries_inclusive_start_exclusive_end(now, expected):
    """08:00 is inside the window, 20:00 is not."""
    assert is_open(CONSERVATIVE, now, MX) is expected


def test_end_of_day_24_is_allowed():
    """hour_to=24 keeps the window open until local midnight."""
    window = ContactWindow(0.0, 24.0, EVERY_DAY)
    assert is_open(window, utc(2026, 11, 18, 5, 59, 59), MX)  # 23:59:59 local
    assert is_open(window, utc(2026, 11, 18, 6, 0, 0), MX)  # 00:00 next day


def test_half_hour_opening_is_exact():
    """8.5 means 08:30 sharp, returned without rounding."""
    window = ContactWindow(8.5, 20.0, MON_FRI)
    assert next_opening(window, utc(2026, 11, 17, 14, 0), MX) == utc(
        2026, 11, 17, 14, 30
    )
    assert not is_open(window, utc(2026, 11, 17, 14, 29, 59), MX)


def test_opening_is_not_rounded_to_a_grid():
    """An odd 'now' gets the exact opening, an open 'now' is returned as is."""
    assert next_opening(CONSERVATIVE, utc(2026, 11, 17, 13, 59, 17), MX) == utc(
        2026, 11, 17, 14, 0, 0
    )
    now = dt.datetime(2026, 11, 17, 14, 7, 33, 123456)
    assert next_opening(CONSERVATIVE, now, MX) == utc(2026, 11, 17, 14, 7, 33)


# --- Saturday and Sunday ----------------------------------------------------


def test_colombia_shorter_saturday():
    """Saturday 08:00-15:00 while weekdays run 07:00-19:00 (Bogota is UTC-5)."""
    assert is_open(COLOMBIA, utc(2026, 11, 13, 12, 30), BOGOTA)  # Fri 07:30
    assert not is_open(COLOMBIA, utc(2026, 11, 14, 12, 30), BOGOTA)  # Sat 07:30
    assert is_open(COLOMBIA, utc(2026, 11, 14, 13, 0), BOGOTA)  # Sat 08:00
    assert is_open(COLOMBIA, utc(2026, 11, 14, 19, 59, 59), BOGOTA)  # 14:59:59
    assert not is_open(COLOMBIA, utc(2026, 11, 14, 20, 0), BOGOTA)  # Sat 15:00
    assert is_open(COLOMBIA, utc(2026, 11, 13, 23, 30), BOGOTA)  # Fri 18:30
    # Saturday 15:00 -> no Sunday -> Monday 07:00 Bogota.
    assert next_opening(COLOMBIA, utc(2026, 11, 14, 20, 0), BOGOTA) == utc(
        2026, 11, 16, 12, 0
    )
    # Saturday 06:00 -> Saturday 08:00, not the weekday 07:00.
    assert next_opening(COLOMBIA, utc(2026, 11, 14, 11, 0), BOGOTA) == utc(
        2026, 11, 14, 13, 0
    )


def test_saturday_to_alone_keeps_general_opening():
    """saturday_hour_to without saturday_hour_from keeps hour_from on Saturday."""
    window = ContactWindow(8.0, 20.0, frozenset(range(6)), saturday_hour_to=14.0)
    assert is_open(window, utc(2026, 11, 14, 14, 0), MX)  # Sat 08:00
    assert not is_open(window, utc(2026, 11, 14, 20, 0), MX)  # Sat 14:00


@pytest.mark.parametrize(
    ("now", "zones", "expected"),
    [
        # Sunday noon -> Monday 08:00 CST (UTC-6, no DST since 2022).
        (utc(2026, 11, 15, 18, 0), MX, utc(2026, 11, 16, 14, 0)),
        # Tijuana in winter: PST, UTC-8.
        (utc(2026, 11, 15, 18, 0), TIJUANA, utc(2026, 11, 16, 16, 0)),
        # Tijuana in summer: PDT, UTC-7.
        (utc(2026, 7, 12, 18, 0), TIJUANA, utc(2026, 7, 13, 15, 0)),
        # Cancun: EST, UTC-5 all year.
        (utc(2026, 11, 15, 18, 0), CANCUN, utc(2026, 11, 16, 13, 0)),
        (utc(2026, 7, 12, 18, 0), CANCUN, utc(2026, 7, 13, 13, 0)),
        # Mexico City in summer: still UTC-6 (DST abolished).
        (utc(2026, 7, 12, 18, 0), MX, utc(2026, 7, 13, 14, 0)),
    ],
)
def test_sunday_defers_to_monday_0800_local(now, zones, expected):
    """Sunday is closed; the next opening is Monday 08:00 in the debtor's zone."""
    assert not is_open(CONSERVATIVE, now, zones)
    assert next_opening(CONSERVATIVE, now, zones) == expected


def test_friday_evening_defers_over_the_weekend():
    """Friday 20:30 local -> Monday 08:00 local."""
    assert next_opening(CONSERVATIVE, utc(2026, 11, 14, 2, 30), MX) == utc(
        2026, 11, 16, 14, 0
    )


# --- holidays ---------------------------------------------------------------


def test_holiday_is_skipped():
    """Revolution Day observed (Monday 2026-11-16) -> Tuesday 08:00."""
    window = ContactWindow(
        8.0, 20.0, MON_FRI, holidays=frozenset({dt.date(2026, 11, 16)})
    )
    assert not is_open(window, utc(2026, 11, 16, 18, 0), MX)
    assert next_opening(window, utc(2026, 11, 15, 18, 0), MX) == utc(
        2026, 11, 17, 14, 0
    )


def test_holidays_are_local_dates_in_each_zone():
    """At 03:00 UTC on 11-17 it is still the 16th (a holiday) in Mexico City."""
    window = ContactWindow(
        0.0, 24.0, EVERY_DAY, holidays=frozenset({dt.date(2026, 11, 16)})
    )
    now = utc(2026, 11, 17, 3, 0)
    assert not is_open(window, now, MX)  # 2026-11-16 21:00 local
    assert is_open(window, now, ["Europe/Madrid"])  # 2026-11-17 04:00 local
    assert not is_open(window, now, ["Europe/Madrid", *MX])
    # Opens at local midnight of the 17th in Mexico City.
    assert next_opening(window, now, MX) == utc(2026, 11, 17, 6, 0)


def test_holidays_covering_the_horizon_give_none():
    """Every allowed day a holiday -> None (caller reports 'cannot contact')."""
    mondays = frozenset(dt.date(2026, 11, 16) + dt.timedelta(weeks=k) for k in range(6))
    window = ContactWindow(8.0, 20.0, frozenset({0}), holidays=mondays)
    assert next_opening(window, utc(2026, 11, 15, 18, 0), MX) is None


def test_holiday_datetimes_are_normalised_to_dates():
    """A datetime given as holiday counts as its date."""
    window = ContactWindow(
        8.0, 20.0, MON_FRI, holidays=[dt.datetime(2026, 11, 16, 0, 0)]
    )
    assert window.holidays == frozenset({dt.date(2026, 11, 16)})
    assert isinstance(window.weekdays, frozenset)


# --- several zones ----------------------------------------------------------


def test_new_york_and_los_angeles_intersection():
    """08-21 in both zones = 11:00-21:00 New York time (Regulation F)."""
    # Summer: EDT UTC-4, PDT UTC-7.
    assert not is_open(REG_F, utc(2026, 7, 13, 14, 59, 59), NY_LA)  # 10:59 NY
    assert is_open(REG_F, utc(2026, 7, 13, 15, 0), NY_LA)  # 11:00 NY, 08:00 LA
    assert is_open(REG_F, utc(2026, 7, 14, 0, 59, 59), NY_LA)  # 20:59:59 NY
    assert not is_open(REG_F, utc(2026, 7, 14, 1, 0), NY_LA)  # 21:00 NY
    assert next_opening(REG_F, utc(2026, 7, 13, 3, 0), NY_LA) == utc(2026, 7, 13, 15, 0)
    # Winter: EST UTC-5 -> 11:00 NY is 16:00 UTC.
    assert next_opening(REG_F, utc(2026, 1, 13, 3, 0), NY_LA) == utc(2026, 1, 13, 16, 0)
    # After 21:00 NY: the next day's 11:00 NY.
    assert next_opening(REG_F, utc(2026, 7, 14, 1, 0), NY_LA) == utc(2026, 7, 14, 15, 0)


def test_zone_order_and_duplicates_do_not_matter():
    """The intersection is symmetric and duplicates are harmless."""
    now = utc(2026, 7, 13, 3, 0)
    expected = next_opening(REG_F, now, NY_LA)
    assert next_opening(REG_F, now, list(reversed(NY_LA))) == expected
    assert next_opening(REG_F, now, [*NY_LA, *NY_LA]) == expected


def test_impossible_window_across_zones_is_none():
    """08-09 in Tokyo and New York never overlaps."""
    window = ContactWindow(8.0, 9.0, EVERY_DAY)
    now = utc(2026, 7, 13, 3, 0)
    zones = ["Asia/Tokyo", "America/New_York"]
    assert not is_open(window, now, zones)
    assert next_opening(window, now, zones) is None


def test_all_mexican_zones_still_leave_a_window():
    """Mexico without a state: the conservative window fits all its zones."""
    zones = [
        "America/Tijuana",
        "America/Hermosillo",
        "America/Mazatlan",
        "America/Chihuahua",
        "America/Mexico_City",
        "America/Cancun",
    ]
    # Winter: Tijuana UTC-8 to Cancun UTC-5 -> 08:00 Tijuana = 16:00 UTC.
    assert next_opening(CONSERVATIVE, utc(2026, 11, 15, 18, 0), zones) == utc(
        2026, 11, 16, 16, 0
    )
    # And it closes at 20:00 Cancun = 01:00 UTC.
    assert is_open(CONSERVATIVE, utc(2026, 11, 17, 0, 59), zones)
    assert not is_open(CONSERVATIVE, utc(2026, 11, 17, 1, 0), zones)


# --- daylight saving time ---------------------------------------------------


def test_spring_forward_gap_at_opening_hour():
    """Tijuana 2026-03-08: 02:00 PST does not exist, clocks go to 03:00 PDT."""
    window = ContactWindow(2.0, 4.0, EVERY_DAY)
    # The first instant at or after 02:00 local is the jump itself, 10:00 UTC.
    assert next_opening(window, utc(2026, 3, 8, 0, 0), TIJUANA) == utc(
        2026, 3, 8, 10, 0
    )
    assert not is_open(window, utc(2026, 3, 8, 9, 59, 59), TIJUANA)  # 01:59:59
    assert is_open(window, utc(2026, 3, 8, 10, 0), TIJUANA)  # 03:00 PDT
    # The day after: 02:00 PDT = 09:00 UTC.
    assert next_opening(window, utc(2026, 3, 8, 11, 0), TIJUANA) == utc(
        2026, 3, 9, 9, 0
    )


def test_window_entirely_inside_the_gap_skips_the_day():
    """02:00-02:30 never happens on 2026-03-08 in Tijuana: next day instead."""
    window = ContactWindow(2.0, 2.5, EVERY_DAY)
    assert next_opening(window, utc(2026, 3, 8, 0, 0), TIJUANA) == utc(2026, 3, 9, 9, 0)


def test_fall_back_overlap():
    """Tijuana 2026-11-01: 02:00 PDT becomes 01:00 PST (09:00 UTC)."""
    # 02:00 local only happens once, in PST: 10:00 UTC.
    window = ContactWindow(2.0, 4.0, EVERY_DAY)
    assert next_opening(window, utc(2026, 11, 1, 0, 0), TIJUANA) == utc(
        2026, 11, 1, 10, 0
    )
    # 01:30 happens twice; the first one (PDT) is the opening.
    window = ContactWindow(1.5, 3.0, EVERY_DAY)
    assert next_opening(window, utc(2026, 11, 1, 0, 0), TIJUANA) == utc(
        2026, 11, 1, 8, 30
    )
    # At 01:00 PST (09:00 UTC) the clock is back before 01:30: closed again,
    # and it reopens at the second 01:30.
    assert not is_open(window, utc(2026, 11, 1, 9, 0), TIJUANA)
    assert next_opening(window, utc(2026, 11, 1, 9, 0), TIJUANA) == utc(
        2026, 11, 1, 9, 30
    )
    # A window ending at 01:30 reopens when the clock jumps back to 01:00.
    window = ContactWindow(0.0, 1.5, EVERY_DAY)
    assert not is_open(window, utc(2026, 11, 1, 8, 31), TIJUANA)  # 01:31 PDT
    assert next_opening(window, utc(2026, 11, 1, 8, 31), TIJUANA) == utc(
        2026, 11, 1, 9, 0
    )


def test_mexico_city_ignores_the_old_april_dst_date():
    """First Sunday of April used to switch Mexico City to DST; not since 2022."""
    window = ContactWindow(8.0, 20.0, EVERY_DAY)
    assert next_opening(window, utc(2026, 4, 5, 6, 0), MX) == utc(2026, 4, 5, 14, 0)
    assert next_opening(window, utc(2026, 4, 6, 6, 0), MX) == utc(2026, 4, 6, 14, 0)


def test_midnight_dst_transition_does_not_crash():
    """Santiago changes clocks at midnight; a 00:00 opening must still work."""
    window = ContactWindow(0.0, 1.0, EVERY_DAY)
    # 2026-09-06 00:00 CLT does not exist in Santiago (clocks -> 01:00 CLST), so
    # the window is skipped that day; a result is still found.
    result = next_opening(window, utc(2026, 9, 5, 12, 0), ["America/Santiago"])
    assert result is not None
    assert is_open(window, result, ["America/Santiago"])


# --- input and output conventions ---------------------------------------------


def test_naive_is_utc_and_output_is_naive_utc():
    """Naive input means UTC; aware input in any zone gives the same answer."""
    naive = utc(2026, 11, 15, 18, 0)
    aware_utc = naive.replace(tzinfo=dt.UTC)
    aware_local = aware_utc.astimezone(zoneinfo.ZoneInfo("America/Mexico_City"))
    results = {
        next_opening(CONSERVATIVE, value, MX)
        for value in (naive, aware_utc, aware_local)
    }
    assert results == {utc(2026, 11, 16, 14, 0)}
    (result,) = results
    assert result.tzinfo is None
    assert result.microsecond == 0
    assert is_open(CONSERVATIVE, aware_local, MX) is is_open(CONSERVATIVE, naive, MX)


def test_open_now_returns_now():
    """When open, next_opening is now itself (naive, whole seconds)."""
    now = utc(2026, 11, 17, 15, 0)
    assert next_opening(CONSERVATIVE, now, MX) == now


def test_horizon_limits_the_search():
    """Nothing found within horizon_days -> None."""
    friday_night = utc(2026, 11, 14, 2, 30)  # Fri 20:30 CST
    assert next_opening(CONSERVATIVE, friday_night, MX, horizon_days=1) is None
    assert next_opening(CONSERVATIVE, friday_night, MX, horizon_days=3) is not None
    assert next_opening(CONSERVATIVE, friday_night, MX, horizon_days=0) is None
    with pytest.raises(ValueError):
        next_opening(CONSERVATIVE, friday_night, MX, horizon_days=-1)


def test_a_single_string_zone_is_accepted():
    """A bare zone name works like a one-element list."""
    now = utc(2026, 11, 15, 18, 0)
    assert next_opening(CONSERVATIVE, now, "America/Cancun") == next_opening(
        CONSERVATIVE, now, CANCUN
    )


@pytest.mark.parametrize("zones", [[], ["Not/AZone"], [""]])
def test_missing_or_unknown_zone_is_an_error(zones):
    """No silent fallback (e.g. to the company's zone) inside the service."""
    now = utc(2026, 11, 15, 18, 0)
    with pytest.raises(ValueError):
        is_open(CONSERVATIVE, now, zones)
    with pytest.raises(ValueError):
        next_opening(CONSERVATIVE, now, zones)


def test_names_only_pytz_knows_fall_back_to_pytz(monkeypatch):
    """Odoo's tz list comes from pytz; a name zoneinfo lacks still resolves."""

    class UnknownTimeZoneError(KeyError):
        """Stand-in for pytz's error."""

    def timezone(name):
        """Fake pytz.timezone knowing a single name."""
        if name == "Legacy/Only":
            return dt.timezone(dt.timedelta(hours=-6))
        raise UnknownTimeZoneError(name)

    fake = types.ModuleType("pytz")
    fake.UnknownTimeZoneError = UnknownTimeZoneError
    fake.timezone = timezone
    monkeypatch.setitem(sys.modules, "pytz", fake)
    resolve_zone.cache_clear()
    try:
        assert next_opening(CONSERVATIVE, utc(2026, 11, 15, 18), ["Legacy/Only"]) == (
            utc(2026, 11, 16, 14, 0)
        )
        with pytest.raises(ValueError):
            resolve_zone("Nope/Zone")
    finally:
        resolve_zone.cache_clear()


# --- validation and description ---------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hour_from": 20.0, "hour_to": 8.0, "weekdays": MON_FRI},
        {"hour_from": 8.0, "hour_to": 8.0, "weekdays": MON_FRI},
        {"hour_from": -1.0, "hour_to": 8.0, "weekdays": MON_FRI},
        {"hour_from": 8.0, "hour_to": 24.5, "weekdays": MON_FRI},
        {"hour_from": float("nan"), "hour_to": 20.0, "weekdays": MON_FRI},
        {"hour_from": "8", "hour_to": 20.0, "weekdays": MON_FRI},
        {"hour_from": 8.0, "hour_to": 20.0, "weekdays": frozenset()},
        {"hour_from": 8.0, "hour_to": 20.0, "weekdays": frozenset({7})},
        {"hour_from": 8.0, "hour_to": 20.0, "weekdays": frozenset({-1})},
        {
            "hour_from": 8.0,
            "hour_to": 20.0,
            "weekdays": MON_FRI,
            "saturday_hour_to": 7.0,
        },
        {
            "hour_from": 8.0,
            "hour_to": 20.0,
            "weekdays": MON_FRI,
            "holidays": frozenset({"2026-11-16"}),
        },
    ],
)
def test_invalid_window_raises(kwargs):
    """Impossible hours, empty or out-of-range weekdays are refused."""
    with pytest.raises(ValueError):
        ContactWindow(**kwargs)


def test_window_is_frozen_and_hashable():
    """Windows can be cached and shared safely."""
    with pytest.raises(AttributeError):
        CONSERVATIVE.hour_from = 7.0  # type: ignore[misc]
    assert hash(CONSERVATIVE) == hash(ContactWindow(8.0, 20.0, MON_FRI))


@pytest.mark.parametrize(
    ("window", "text"),
    [
        (CONSERVATIVE, "Mon–Fri 08:00–20:00"),
        (COLOMBIA, "Mon–Fri 07:00–19:00, Sat 08:00–15:00"),
        (REG_F, "Mon–Sun 08:00–21:00"),
        (ContactWindow(8.5, 24.0, frozenset({0, 2, 4})), "Mon, Wed, Fri 08:30–24:00"),
        (
            ContactWindow(8.0, 20.0, frozenset({5}), saturday_hour_to=14),
            "Sat 08:00–14:00",
        ),
        (
            ContactWindow(7.0, 22.0, MON_FRI, holidays=[dt.date(2026, 11, 16)]),
            "Mon–Fri 07:00–22:00 (except 1 holiday)",
        ),
    ],
)
def test_describe(window, text):
    """Log-friendly English summary."""
    assert describe(window) == text


# --- cross-check against a brute-force scan -----------------------------------

_POOL = [
    "America/Mexico_City",
    "America/Tijuana",
    "America/Cancun",
    "America/Hermosillo",
    "America/New_York",
    "America/Los_Angeles",
    "America/Santiago",
    "Europe/Madrid",
    "Atlantic/Canary",
    "Pacific/Honolulu",
    "Asia/Kolkata",
]


def _brute_force(window, now, zones, horizon):
    """Minute-by-minute reference (fine for minute-aligned windows and times)."""
    step = dt.timedelta(minutes=1)
    instant = now
    while instant < now + horizon:
        if is_open(window, instant, zones):
            return instant
        instant += step
    return None


def test_matches_brute_force_on_random_cases():
    """Analytic candidates give the same answer as scanning every minute."""
    rng = random.Random(20261116)
    # Dates around DST changes in the pool's zones, plus ordinary ones.
    anchors = [
        utc(2026, 3, 8),
        utc(2026, 3, 29),
        utc(2026, 4, 5),
        utc(2026, 9, 6),
        utc(2026, 10, 25),
        utc(2026, 11, 1),
        utc(2026, 6, 15),
    ]
    for _ in range(30):
        start = rng.randrange(0, 23 * 4) / 4
        end = min(24.0, start + rng.choice([0.5, 1, 2, 5, 9, 13, 24]))
        days = frozenset(rng.sample(range(7), rng.randint(1, 7)))
        window = ContactWindow(start, end, days)
        zones = rng.sample(_POOL, rng.randint(1, 3))
        now = rng.choice(anchors) + dt.timedelta(minutes=rng.randrange(0, 2 * 1440))
        expected = _brute_force(window, now, zones, dt.timedelta(days=3))
        got = next_opening(window, now, zones, horizon_days=3)
        assert got == expected, (window, zones, now)
