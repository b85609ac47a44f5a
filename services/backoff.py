"""Retry delays and send pacing for the outbound channels (WhatsApp first).

Two separate concerns live here:

* **when to retry** a send that failed with a retryable error: full-jitter
  exponential backoff (AWS Architecture Blog, "Exponential Backoff And Jitter",
  2015).  Each delay is drawn uniformly from ``[0, min(cap, base * 2**attempt)]``,
  so many reminders failing together (a Meta outage, a throughput error on a big
  batch) spread their retries over the whole interval instead of coming back in
  one synchronized wave;
* **how fast to send**: Meta allows about 80 messages per second per business
  number (20 for numbers shared with the WhatsApp Business app) and answers
  error 130429 beyond that.  :class:`SlidingWindowLimiter` guarantees that the
  instants it hands out never put more than ``limit`` messages in ANY window of
  ``window`` seconds; :class:`TokenBucket` paces evenly at ``rate`` per second.

Both pacers *reserve*: ``wait = pacer.take(); time.sleep(wait); send()`` is the
whole protocol, and concurrent callers sharing one pacer get distinct slots.
The guarantee concerns the instants returned; a send that leaves later than its
slot (sleep overshoot, a slow request) moves closer to the next ones, so leave
headroom under the provider's limit (pace at 60/s for an 80/s number).  A pacer
lives in one process: workers that send for the same number must share one
dispatcher or split the rate between them.

This module is pure Python (no Odoo import) so that it can be unit-tested alone.
Datetimes follow Odoo's convention: naive values are UTC.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = [
    "CompletionWindowLimiter",
    "DEFAULT_BASE",
    "DEFAULT_CAP",
    "MAX_ATTEMPTS",
    "SlidingWindowLimiter",
    "TokenBucket",
    "backoff_ceiling",
    "can_retry",
    "full_jitter_delay",
    "next_retry_at",
]

# WHATSAPP.md: "full-jitter exponential backoff (e.g. base 30 s, cap 1 h,
# <= 6 attempts), then failed".
DEFAULT_BASE = 30.0
DEFAULT_CAP = 3600.0
MAX_ATTEMPTS = 6

# Slack added to the token bucket's emission interval, relative: one second in a
# million.  Float rounding of ``anchor + k * interval`` is a few ulps (below
# 1e-7 s even for monotonic clocks of a billion seconds); without the slack N+1
# evenly paced sends could land a rounding error inside one second.
_PACING_SLACK = 1e-6

Clock = Callable[[], float]


def _check_number(name: str, value: float, *, positive: bool) -> None:
    """Raise ValueError unless ``value`` is a finite real (> 0 or >= 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if not positive and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")


def _check_attempt(attempt: int) -> None:
    """Raise ValueError unless ``attempt`` is an int >= 0."""
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0:
        raise ValueError(f"attempt must be an integer >= 0, got {attempt!r}")


def backoff_ceiling(
    attempt: int, base: float = DEFAULT_BASE, cap: float = DEFAULT_CAP
) -> float:
    """Upper bound of the delay before retry ``attempt``: min(cap, base * 2**attempt).

    Computed without overflow for any attempt (2**2000 seconds is still ``cap``).
    """
    _check_attempt(attempt)
    _check_number("base", base, positive=False)
    _check_number("cap", cap, positive=False)
    try:
        return min(cap, math.ldexp(base, attempt))
    except OverflowError:
        return cap


def full_jitter_delay(
    attempt: int,
    base: float = DEFAULT_BASE,
    cap: float = DEFAULT_CAP,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry ``attempt``, full jitter.

    Drawn from uniform(0, min(cap, base * 2**attempt)).  ``attempt`` is the
    0-based number of the retry being scheduled: 0 after the first failed send,
    1 after the second, and so on.  ``rng`` makes the draw reproducible in
    tests; the module-level generator is used otherwise.
    """
    ceiling = backoff_ceiling(attempt, base, cap)
    return (rng or random).uniform(0.0, ceiling)


def _naive_utc(value: dt.datetime) -> dt.datetime:
    """Naive UTC datetime from an aware one or a naive one meaning UTC (Odoo)."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def next_retry_at(
    now: dt.datetime,
    attempt: int,
    base: float = DEFAULT_BASE,
    cap: float = DEFAULT_CAP,
    rng: random.Random | None = None,
) -> dt.datetime:
    """Naive UTC datetime of retry ``attempt`` scheduled at ``now``.

    ``now`` is aware or naive UTC (Odoo stores naive UTC); the result is naive
    UTC, ready for a Datetime field or ``ir.cron._trigger(at=...)``.
    """
    delay = full_jitter_delay(attempt, base, cap, rng)
    return _naive_utc(now) + dt.timedelta(seconds=delay)


def can_retry(attempts_made: int, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """Whether another send may be tried after ``attempts_made`` failed ones.

    ``attempts_made`` counts every send already tried, the first one included:
    with the default of 6, a reminder is sent at most 6 times (1 + 5 retries),
    then marked failed.
    """
    _check_attempt(attempts_made)
    return attempts_made < max_attempts


def _wait_until(now: float, slot: float) -> float:
    """Seconds from ``now`` to ``slot``, rounded up so that now + wait >= slot.

    ``slot - now`` in floats can round down, and a caller (or a fake clock)
    computing ``now + wait`` would then land one ulp before its slot.
    """
    if slot <= now:
        return 0.0
    wait = slot - now
    while now + wait < slot:
        wait = math.nextafter(wait, math.inf)
    return wait


class TokenBucket:
    """Even pacing: at most ``rate_per_second`` tokens per second, ``capacity`` burst.

    ``take(n)`` reserves ``n`` tokens and returns the seconds to wait before
    using them (0.0 when they are available now).  Tokens may be reserved ahead
    of time, so concurrent callers queue up in call order.

    With the default ``capacity`` of 1 the bucket spaces sends at least
    ``1 / rate`` seconds apart, which never puts more than ``rate`` sends (for
    an integer rate) in any one-second window.  A larger capacity allows a burst
    of ``capacity`` after an idle period followed by ``rate`` per second, i.e.
    up to ``capacity + rate`` in one second: use it only where bursts are
    acceptable, and :class:`SlidingWindowLimiter` where a hard per-window limit
    is required.

    Implemented as a generic cell rate algorithm (the "virtual scheduling" form
    of a token bucket): the theoretical arrival time ``tat`` is
    ``anchor + count * interval``, recomputed from the anchor each time rather
    than accumulated, so that float rounding does not drift over a long run.
    """

    def __init__(
        self,
        rate_per_second: float,
        capacity: float | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        _check_number("rate_per_second", rate_per_second, positive=True)
        if capacity is None:
            capacity = 1.0
        _check_number("capacity", capacity, positive=True)
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity!r}")
        self.rate = float(rate_per_second)
        self.capacity = float(capacity)
        self._clock = clock
        self._interval = (1.0 + _PACING_SLACK) / self.rate
        self._anchor: float | None = None
        self._count = 0.0
        self._lock = threading.Lock()

    def _tat(self) -> float:
        """Theoretical arrival time: when the bucket is full again."""
        assert self._anchor is not None
        return self._anchor + self._count * self._interval

    def take(self, n: float = 1) -> float:
        """Reserve ``n`` tokens; return the seconds to wait before using them."""
        _check_number("n", n, positive=True)
        if n > self.capacity:
            raise ValueError(
                f"cannot take {n!r} tokens from a bucket of capacity {self.capacity!r}"
            )
        with self._lock:
            now = self._clock()
            if self._anchor is None or self._tat() <= now:
                # Idle long enough for the bucket to be full: restart from now.
                self._anchor, self._count = now, 0.0
            # Conforming when tat + n*T - now <= capacity*T (GCRA).
            slot = self._anchor + (self._count + n - self.capacity) * self._interval
            self._count += n
            return _wait_until(now, slot)


class SlidingWindowLimiter:
    """At most ``limit`` sends in any half-open window of ``window`` seconds.

    ``take(n)`` reserves ``n`` sends and returns the seconds to wait before
    making them.  It remembers the last ``limit`` reserved instants and gives a
    new send the earliest instant, not before the previous reservation (first
    come, first served), at which the send ``limit`` places back is at least
    ``window`` seconds older.  So ``limit`` sends may go out back to back, then
    the next waits until the first leaves the window: the full rate is usable
    without ever exceeding it in any window, unlike a token bucket of capacity
    ``limit`` which can let ``2 * limit`` through in one second.
    """

    def __init__(
        self, limit: int, window: float = 1.0, clock: Clock = time.monotonic
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be an integer >= 1, got {limit!r}")
        _check_number("window", window, positive=True)
        self.limit = limit
        self.window = float(window)
        self._clock = clock
        self._slots: deque[float] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def take(self, n: int = 1) -> float:
        """Reserve ``n`` sends at one instant; return the seconds to wait."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= self.limit:
            raise ValueError(f"n must be an integer from 1 to {self.limit}, got {n!r}")
        with self._lock:
            now = self._clock()
            slot = now
            if self._slots:
                slot = max(slot, self._slots[-1])
            # The last of the n sends must find the send `limit` places before it
            # at least a window older; that send is (limit - n + 1) from the end.
            back = self.limit - n + 1
            if len(self._slots) >= back:
                slot = max(slot, self._slots[-back] + self.window)
            wait = _wait_until(now, slot)
            # Record the instant the caller lands on (now + wait), which may be an
            # ulp past the slot: the record must never be earlier than the send.
            landed = now + wait
            for _ in range(n):
                self._slots.append(landed)
            return wait


class CompletionWindowLimiter:
    """At most ``limit`` requests *received* in any window of ``window`` seconds.

    The pacers above space the instants requests leave; the provider counts
    when they arrive, which may be anywhere between the start and the end of
    each request (connection, slow network, a loaded machine). This limiter
    bounds the arrivals themselves: a request starts only once the request
    ``limit`` places before it (in start order) has **ended** at least
    ``window`` seconds ago. Request ``i`` arrived before it ended, request
    ``i + limit`` arrives after it started, so they are always at least
    ``window`` apart, and no window holds ``limit + 1`` arrivals. Requests
    still in flight count as not ended: concurrent senders wait for them.

    ``slot = limiter.start()`` blocks until the request may start;
    ``limiter.end(slot)`` must follow when the request is over (``finally``).

    ``clock`` gives the instants and ``sleep`` waits for the window to pass
    (tests pass a fake clock whose ``sleep`` only moves it); waiting for a
    request in flight to end is a wait for another thread, on a condition.
    """

    def __init__(
        self,
        limit: int,
        window: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be an integer >= 1, got {limit!r}")
        _check_number("window", window, positive=True)
        self.limit = limit
        self.window = float(window)
        self._clock = clock
        self._sleep = sleep
        self._slots: deque[list] = deque(maxlen=limit)  # [end or None], start order
        self._cond = threading.Condition()

    def start(self) -> list:
        """Wait until a request may start; return its slot for :meth:`end`."""
        with self._cond:
            while len(self._slots) == self.limit:
                ended = self._slots[0][0]
                if ended is None:
                    self._cond.wait(1.0)  # in flight: wait for its end
                    continue
                wait = ended + self.window - self._clock()
                if wait <= 0:
                    break
                # Nothing another thread does brings that instant closer: sleep
                # without the lock, then look again (another sender may have
                # taken the slot meanwhile).
                self._cond.release()
                try:
                    self._sleep(wait)
                finally:
                    self._cond.acquire()
            slot = [None]
            self._slots.append(slot)
            return slot

    def end(self, slot: list) -> None:
        """The request of ``slot`` is over (answered, failed or timed out)."""
        with self._cond:
            slot[0] = self._clock()
            self._cond.notify_all()
