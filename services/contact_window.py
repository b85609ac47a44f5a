"""Contact windows: when a debtor may lawfully be contacted, in the debtor's time.

Collection laws define the allowed contact hours in the DEBTOR's local time, not
the creditor's (Mexico, CONDUSEF 2014: 07:00-22:00; Colombia, Ley 2300 de 2023:
Mon-Fri 07:00-19:00 and Sat 08:00-15:00; United States, Regulation F
12 CFR 1006.6(b)(1)(i): 08:00-21:00, and when the debtor may be in several time
zones the time must be convenient in all of them).  A reminder that falls outside
the window is deferred to the next opening, never dropped and never sent at night.

This module is pure Python (no Odoo import) so that it can be unit-tested alone.
Datetimes follow Odoo's convention: naive values are UTC.  Time-zone rules come
from the tz database through :mod:`zoneinfo` (with a :mod:`pytz` fallback for
names only pytz knows), never from hard-coded offsets, because Mexico dropped DST
in 2022 except along the US border and such rules keep changing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import heapq
import math
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "ContactWindow",
    "describe",
    "is_open",
    "next_opening",
    "resolve_zone",
]

UTC = dt.UTC
_DAY_SECONDS = 86400
_SATURDAY = 5
_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Offset changes are looked for on a 12-hour grid: the tz database has no two
# transitions of one zone less than a day apart in the present or the future.
_GRID = dt.timedelta(hours=12)
# Real UTC offsets lie within -12h..+14h, so probing a local wall time interpreted
# as UTC, 14 hours either side of it, finds every offset that can apply to it.
_PROBE = dt.timedelta(hours=14)


def _seconds(hour: float) -> int:
    """Whole seconds after local midnight for a float hour (8.5 -> 30600)."""
    return round(hour * 3600)


def _check_hours(label: str, hour_from: float, hour_to: float) -> None:
    """Raise ValueError unless 0 <= hour_from < hour_to <= 24 (numbers, not NaN)."""
    for name, value in (("from", hour_from), ("to", hour_to)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{label}: hour_{name} must be a number, got {value!r}")
        if math.isnan(value):
            raise ValueError(f"{label}: hour_{name} must not be NaN")
    if not 0 <= hour_from < hour_to <= 24:
        raise ValueError(
            f"{label}: need 0 <= hour_from < hour_to <= 24, "
            f"got {hour_from!r}-{hour_to!r}"
        )


@dataclass(frozen=True)
class ContactWindow:
    """Hours and days, in the debtor's local time, when contact is allowed.

    ``hour_from`` is inclusive and ``hour_to`` exclusive (a window 08-20 is open at
    08:00:00 and closed at 20:00:00); 24.0 means "until the end of the day".
    ``weekdays`` uses :meth:`datetime.date.weekday` numbering (0 = Monday).
    ``holidays`` are LOCAL calendar dates with no contact at all (they are checked
    against the date in each of the debtor's possible zones).

    Colombia (Ley 2300 de 2023, art. 3) allows a shorter Saturday, 08:00-15:00,
    hence the optional ``saturday_hour_from`` / ``saturday_hour_to`` overrides;
    ``None`` means "same as the other days".  They only matter when Saturday (5)
    is in ``weekdays``.
    """

    hour_from: float
    hour_to: float
    weekdays: frozenset[int]
    holidays: frozenset[dt.date] = frozenset()
    saturday_hour_to: float | None = None
    saturday_hour_from: float | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        """Validate the window and normalise iterables into frozensets."""
        _check_hours("ContactWindow", self.hour_from, self.hour_to)
        if self.saturday_hour_from is not None or self.saturday_hour_to is not None:
            _check_hours(
                "ContactWindow Saturday",
                self._sat_from_hour,
                self._sat_to_hour,
            )
        weekdays = frozenset(self.weekdays)
        if not weekdays:
            raise ValueError("ContactWindow: weekdays must not be empty")
        bad = [d for d in weekdays if isinstance(d, bool) or d not in range(7)]
        if bad:
            raise ValueError(
                f"ContactWindow: weekdays must be integers 0 (Monday) to 6 "
                f"(Sunday), got {sorted(map(repr, bad))}"
            )
        holidays = set()
        for item in self.holidays:
            day = item.date() if isinstance(item, dt.datetime) else item
            if not isinstance(day, dt.date):
                raise ValueError(f"ContactWindow: holidays must be dates, got {day!r}")
            holidays.add(day)
        object.__setattr__(self, "weekdays", weekdays)
        object.__setattr__(self, "holidays", frozenset(holidays))

    @property
    def _sat_from_hour(self) -> float:
        """Saturday opening hour (the general one unless overridden)."""
        if self.saturday_hour_from is None:
            return self.hour_from
        return self.saturday_hour_from

    @property
    def _sat_to_hour(self) -> float:
        """Saturday closing hour (the general one unless overridden)."""
        if self.saturday_hour_to is None:
            return self.hour_to
        return self.saturday_hour_to

    def bounds(self, day: dt.date) -> tuple[int, int] | None:
        """Open interval of ``day`` in seconds after local midnight, or None.

        None when the weekday is not allowed or the date is a holiday.
        """
        weekday = day.weekday()
        if weekday not in self.weekdays or day in self.holidays:
            return None
        if weekday == _SATURDAY:
            return _seconds(self._sat_from_hour), _seconds(self._sat_to_hour)
        return _seconds(self.hour_from), _seconds(self.hour_to)


@functools.lru_cache(maxsize=512)
def resolve_zone(name: str) -> dt.tzinfo:
    """Return the tzinfo for an IANA name; ValueError when it is unknown.

    :mod:`zoneinfo` is preferred; pytz is only a fallback for names that the system
    tz database lacks but Odoo offers (Odoo's ``tz`` selection is built from
    ``pytz.all_timezones``, which includes legacy aliases such as "US/Pacific").
    Only ``astimezone`` (UTC -> local) is ever used on the result, which pytz zones
    implement correctly, so both kinds behave the same here.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"unknown time zone {name!r}")
    # A name the system tz database lacks falls through to pytz, then to the error.
    with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return zoneinfo.ZoneInfo(name)
    try:
        import pytz  # noqa: PLC0415 - optional: present wherever Odoo is
    except ImportError:
        pytz = None
    if pytz is not None:
        with contextlib.suppress(pytz.UnknownTimeZoneError):
            return pytz.timezone(name)
    raise ValueError(f"unknown time zone {name!r}")


def _to_utc(value: dt.datetime) -> dt.datetime:
    """Aware UTC datetime from an aware one or a naive one meaning UTC (Odoo)."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _zones(tz_names: Sequence[str] | str) -> tuple[dt.tzinfo, ...]:
    """Resolve the debtor's possible zones (deduplicated, order kept).

    An empty list is refused: guessing would mean silently using some other zone
    (the company's), which the law does not allow; callers choose a fallback
    explicitly and log it.
    """
    if isinstance(tz_names, str):
        tz_names = (tz_names,)
    names = tuple(dict.fromkeys(tz_names))
    if not names:
        raise ValueError("at least one time zone is required to check a window")
    return tuple(resolve_zone(name) for name in names)


def _open_in_zone(window: ContactWindow, now: dt.datetime, zone: dt.tzinfo) -> bool:
    """Whether the aware UTC instant ``now`` is inside the window in ``zone``."""
    local = now.astimezone(zone)
    bounds = window.bounds(local.date())
    if bounds is None:
        return False
    start, end = bounds
    elapsed = local.hour * 3600 + local.minute * 60 + local.second
    elapsed += local.microsecond / 1_000_000
    return start <= elapsed < end


def is_open(
    window: ContactWindow, now_utc: dt.datetime, tz_names: Sequence[str]
) -> bool:
    """Return True when ``now_utc`` is inside ``window`` in EVERY zone given.

    ``now_utc`` is an aware datetime or a naive one meaning UTC (Odoo stores naive
    UTC).  The debtor may be in any of the zones, so the window must fit them all
    (Regulation F, 12 CFR 1006.6(b)(1)(i)).  Raises ValueError for an empty or
    unknown zone list.
    """
    now = _to_utc(now_utc)
    return all(_open_in_zone(window, now, zone) for zone in _zones(tz_names))


def _local_wall(instant: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """Naive local wall-clock time of an aware instant in ``zone``."""
    return instant.astimezone(zone).replace(tzinfo=None)


def _offset(instant: dt.datetime, zone: dt.tzinfo) -> dt.timedelta:
    """UTC offset of ``zone`` at the aware instant."""
    return instant.astimezone(zone).utcoffset() or dt.timedelta(0)


def _transitions(
    zone: dt.tzinfo, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.timedelta]]:
    """Offset changes of ``zone`` in [start, end]: (first instant, new offset).

    Found by bisection to the second between grid points whose offsets differ,
    because zoneinfo does not expose its transition table.
    """
    found = []
    previous_at, previous = start, _offset(start, zone)
    probe = start
    while probe < end:
        probe = min(probe + _GRID, end)
        current = _offset(probe, zone)
        if current != previous:
            low, high = previous_at, probe  # offset(low) == previous != offset(high)
            while (high - low) > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if middle <= low:
                    middle = low + dt.timedelta(seconds=1)
                if _offset(middle, zone) == previous:
                    low = middle
                else:
                    high = middle
            found.append((high, _offset(high, zone)))
        previous_at, previous = probe, current
    return found


def _instants_for_wall(wall: dt.datetime, zone: dt.tzinfo) -> list[dt.datetime]:
    """Every UTC instant whose local time in ``zone`` is the naive ``wall`` time.

    Usually one; two when ``wall`` is in a DST overlap (clocks set back) and none
    when it is in a gap (clocks set forward).  A gap needs no special case here:
    the transition instant itself is a candidate of its own in :func:`next_opening`.
    """
    as_utc = wall.replace(tzinfo=UTC)
    shifts = (-_PROBE, dt.timedelta(0), _PROBE)
    offsets = {_offset(as_utc + shift, zone) for shift in shifts}
    result = []
    for offset in offsets:
        instant = as_utc - offset
        if _local_wall(instant, zone) == wall:
            result.append(instant)
    return sorted(result)


def next_opening(
    window: ContactWindow,
    now_utc: dt.datetime,
    tz_names: Sequence[str],
    horizon_days: int = 31,
) -> dt.datetime | None:
    """Earliest instant >= ``now_utc`` at which :func:`is_open` is True.

    Returns a NAIVE UTC datetime (Odoo's convention) with whole seconds: ``now_utc``
    itself (microseconds dropped) when the window is open now, otherwise the exact
    opening instant.  Returns None when nothing opens before
    ``now_utc + horizon_days`` (a window impossible across the zones, holidays
    covering everything...): callers treat that as "cannot contact" and report it.

    The intersection of the zones' open periods can only start at ``now``, at some
    zone's daily opening (``hour_from`` local, converted with the tz database, both
    occurrences when it is repeated by a DST overlap) or at a DST transition (a
    clock jumping into the window, e.g. when the opening hour falls in a spring
    forward gap).  Those candidates are computed analytically and checked in time
    order, so the exact instant is found without scanning minute by minute.
    """
    if horizon_days < 0:
        raise ValueError(f"horizon_days must be >= 0, got {horizon_days!r}")
    now = _to_utc(now_utc)
    zones = _zones(tz_names)
    if all(_open_in_zone(window, now, zone) for zone in zones):
        return now.replace(tzinfo=None, microsecond=0)
    limit = now + dt.timedelta(days=horizon_days)
    # Local dates run up to a day apart from the UTC date, hence the margins.
    span_start = now.replace(microsecond=0) - dt.timedelta(days=2)
    span_end = limit.replace(microsecond=0) + dt.timedelta(days=2)

    # Zones with the same offset history over the span show the same wall time at
    # every instant of it, so one of them is enough (Argentina: 12 names, 1 clock).
    distinct: dict[tuple, tuple[dt.tzinfo, list]] = {}
    for zone in zones:
        changes = _transitions(zone, span_start, span_end)
        key = (_offset(span_start, zone), tuple(changes))
        distinct.setdefault(key, (zone, changes))

    candidates: list[dt.datetime] = []
    for zone, changes in distinct.values():
        candidates.extend(instant for instant, _offset_after in changes)
        first_day = _local_wall(span_start, zone).date()
        last_day = _local_wall(span_end, zone).date()
        day = first_day
        while day <= last_day:
            bounds = window.bounds(day)
            if bounds is not None:
                wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(
                    seconds=bounds[0]
                )
                candidates.extend(_instants_for_wall(wall, zone))
            day += dt.timedelta(days=1)

    checked = [zone for zone, _changes in distinct.values()]
    heapq.heapify(candidates)
    while candidates:
        candidate = heapq.heappop(candidates)
        if candidate < now:
            continue
        if candidate >= limit:
            break
        if all(_open_in_zone(window, candidate, zone) for zone in checked):
            return candidate.replace(tzinfo=None, microsecond=0)
    return None


def _format_hour(seconds: int) -> str:
    """HH:MM for seconds after midnight (24:00 for the end of the day)."""
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}"


def _format_days(days: Iterable[int]) -> str:
    """Compact weekday list: consecutive days as ranges ("Mon–Fri, Sun")."""
    ordered = sorted(days)
    runs: list[list[int]] = []
    for day in ordered:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_WEEKDAY_NAMES[run[0]]}–{_WEEKDAY_NAMES[run[-1]]}")
        else:
            parts.extend(_WEEKDAY_NAMES[day] for day in run)
    return ", ".join(parts)


def describe(window: ContactWindow) -> str:
    """English one-line summary for logs, e.g. "Mon–Fri 08:00–20:00"."""
    general = (
        f"{_format_hour(_seconds(window.hour_from))}–"
        f"{_format_hour(_seconds(window.hour_to))}"
    )
    saturday = (
        f"{_format_hour(_seconds(window._sat_from_hour))}–"
        f"{_format_hour(_seconds(window._sat_to_hour))}"
    )
    if _SATURDAY in window.weekdays and saturday != general:
        others = window.weekdays - {_SATURDAY}
        text = f"Sat {saturday}"
        if others:
            text = f"{_format_days(others)} {general}, {text}"
    else:
        text = f"{_format_days(window.weekdays)} {general}"
    if window.holidays:
        count = len(window.holidays)
        text += f" (except {count} holiday{'s' if count != 1 else ''})"
    return text
