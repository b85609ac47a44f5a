"""Unit tests of services.backoff (pure Python, no Odoo needed).

The pacers are driven by a fake clock that the test advances by exactly the wait
each ``take()`` returns, like ``time.sleep`` would (minus the overshoot), and the
resulting send instants are checked against every sliding window.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import threading
from pathlib import Path

import pytest

# The add-on root is an Odoo package; import the pure service module directly.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.backoff import (  # noqa: E402
    MAX_ATTEMPTS,
    SlidingWindowLimiter,
    TokenBucket,
    backoff_ceiling,
    can_retry,
    full_jitter_delay,
    next_retry_at,
)


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


def send_times(pacer, clock: FakeClock, count: int, gap: float = 0.0) -> list[float]:
    """Instants of ``count`` sends made with ``wait = take(); sleep(wait)``.

    ``gap`` is extra time spent between sends (the request itself).
    """
    times = []
    for _ in range(count):
        clock.sleep(pacer.take())
        times.append(clock())
        clock.sleep(gap)
    return times


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """Largest number of instants inside any half-open window [t, t + window).

    A window holding the most instants can always be slid to start at one of
    them, so checking the windows starting at each instant is enough.
    """
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        end = start + window
        count = sum(1 for t in ordered[i:] if t < end)
        best = max(best, count)
    return best


# --- full jitter ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(0, 30.0), (1, 60.0), (2, 120.0), (6, 1920.0), (7, 3600.0), (5000, 3600.0)],
)
def test_backoff_ceiling_doubles_up_to_the_cap(attempt, ceiling):
    """base * 2**attempt, capped at an hour, without overflow for huge attempts."""
    assert backoff_ceiling(attempt) == ceiling


def test_full_jitter_stays_within_zero_and_the_ceiling():
    """Every draw lies in [0, min(cap, base * 2**attempt)] and spreads over it."""
    rng = random.Random(20260715)
    for attempt in range(10):
        ceiling = min(3600.0, 30.0 * 2**attempt)
        draws = [full_jitter_delay(attempt, rng=rng) for _ in range(500)]
        assert all(0.0 <= d <= ceiling for d in draws)
        # Full jitter, not "equal jitter": small delays are as likely as big ones.
        assert min(draws) < ceiling * 0.1
        assert max(draws) > ceiling * 0.9


def test_full_jitter_is_reproducible_with_a_seeded_rng():
    """The same seed gives the same delays (what a test of the dispatcher needs)."""
    first = [full_jitter_delay(3, rng=random.Random(7)) for _ in range(3)]
    second = [full_jitter_delay(3, rng=random.Random(7)) for _ in range(3)]
    assert first == second


def test_full_jitter_custom_base_and_cap():
    """Base and cap are parameters (a recipient's 6-second pair limit, say)."""
    rng = random.Random(1)
    assert all(0 <= full_jitter_delay(4, 6.0, 20.0, rng) <= 20.0 for _ in range(100))
    assert full_jitter_delay(3, base=0.0, rng=rng) == 0.0


@pytest.mark.parametrize("attempt", [-1, 1.5, "2", None, True])
def test_full_jitter_rejects_bad_attempts(attempt):
    """A negative, fractional or non-int attempt is a programming error."""
    with pytest.raises(ValueError, match="attempt"):
        full_jitter_delay(attempt)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"base": -1.0}, "base"), ({"cap": float("nan")}, "cap"), ({"cap": "1"}, "cap")],
)
def test_full_jitter_rejects_bad_base_or_cap(kwargs, message):
    """Negative, NaN or non-numeric bounds are refused."""
    with pytest.raises(ValueError, match=message):
        full_jitter_delay(1, **kwargs)


def test_next_retry_at_is_naive_utc_within_the_ceiling():
    """A naive UTC now gives a naive UTC instant up to base * 2**attempt later."""
    now = dt.datetime(2026, 7, 15, 17, 30)
    rng = random.Random(3)
    for _ in range(100):
        at = next_retry_at(now, 2, rng=rng)
        assert at.tzinfo is None
        assert now <= at <= now + dt.timedelta(seconds=120)


def test_next_retry_at_converts_an_aware_now_to_utc():
    """An aware now (Mexico City, UTC-6) is converted, not taken as UTC."""
    mexico = dt.timezone(dt.timedelta(hours=-6))
    now = dt.datetime(2026, 7, 15, 11, 30, tzinfo=mexico)
    at = next_retry_at(now, 0, base=0.0)
    assert at == dt.datetime(2026, 7, 15, 17, 30)
    assert at.tzinfo is None


def test_next_retry_at_uses_the_rng_draw():
    """The delay added is exactly the jitter drawn from the rng."""
    now = dt.datetime(2026, 1, 1)
    delay = full_jitter_delay(5, rng=random.Random(11))
    at = next_retry_at(now, 5, rng=random.Random(11))
    assert at == now + dt.timedelta(seconds=delay)


def test_next_retry_at_rejects_a_date():
    """A date is not an instant."""
    with pytest.raises(TypeError):
        next_retry_at(dt.date(2026, 1, 1), 0)


def test_max_attempts_and_can_retry():
    """Six sends at most: the first one and five retries."""
    assert MAX_ATTEMPTS == 6
    assert [can_retry(n) for n in range(1, 8)] == [True] * 5 + [False] * 2
    assert can_retry(2, max_attempts=2) is False
    with pytest.raises(ValueError):
        can_retry(-1)


# --- token bucket ------------------------------------------------------------------


def test_token_bucket_first_take_is_free_then_paced():
    """Capacity 1: the first send goes now, the next ones 1/rate apart."""
    clock = FakeClock(100.0)
    bucket = TokenBucket(4, clock=clock)
    assert bucket.take() == 0.0
    assert bucket.take() == pytest.approx(0.25, abs=1e-6)
    # Reserved ahead: a second caller queues behind the first.
    assert bucket.take() == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("start", [0.0, 0.1, 12345.678, 987654321.123])
@pytest.mark.parametrize("rate", [1, 3, 20, 80])
def test_token_bucket_never_exceeds_rate_in_any_sliding_second(rate, start):
    """wait = take(); sleep(wait) never puts rate + 1 sends in one second.

    Large clock values (monotonic clocks count from boot) make float rounding
    coarser; the bound must still hold exactly, with no tolerance.
    """
    clock = FakeClock(start)
    bucket = TokenBucket(rate, clock=clock)
    times = send_times(bucket, clock, rate * 5 + 1)
    assert max_in_window(times) == rate
    # And the pacing is not needlessly slow: 5 * rate sends take ~5 seconds.
    assert times[-1] - times[0] == pytest.approx(5.0, rel=1e-5)


def test_token_bucket_refills_after_idle_but_not_beyond_capacity():
    """An idle minute does not bank sixty seconds of tokens."""
    clock = FakeClock()
    bucket = TokenBucket(2, clock=clock)
    assert bucket.take() == 0.0
    clock.sleep(60)
    assert bucket.take() == 0.0
    assert bucket.take() == pytest.approx(0.5, abs=1e-6)


def test_token_bucket_with_capacity_bursts():
    """Capacity N: a burst of N at once, then N per second (the classic bucket).

    This is the case the default capacity of 1 avoids: N at t=0 plus the ones
    refilled during the first second put up to 2N in one sliding second.
    """
    clock = FakeClock()
    bucket = TokenBucket(10, capacity=10, clock=clock)
    assert [bucket.take() for _ in range(10)] == [0.0] * 10
    assert bucket.take() == pytest.approx(0.1, abs=1e-6)
    clock = FakeClock()
    bucket = TokenBucket(10, capacity=10, clock=clock)
    times = send_times(bucket, clock, 40)
    assert max_in_window(times) == 19


def test_token_bucket_take_n():
    """Taking several tokens at once needs that many intervals to refill."""
    clock = FakeClock()
    bucket = TokenBucket(5, capacity=3, clock=clock)
    assert bucket.take(3) == 0.0
    assert bucket.take(2) == pytest.approx(0.4, abs=1e-6)
    with pytest.raises(ValueError, match="capacity"):
        bucket.take(4)


@pytest.mark.parametrize(
    ("rate", "capacity"), [(0, None), (-1, None), (float("inf"), None), (5, 0.5)]
)
def test_token_bucket_rejects_bad_settings(rate, capacity):
    """The rate must be a positive finite number and the capacity at least 1."""
    with pytest.raises(ValueError):
        TokenBucket(rate, capacity)


def test_token_bucket_is_thread_safe():
    """Concurrent takes get distinct slots: no two threads share one."""
    clock = FakeClock()
    bucket = TokenBucket(100, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(50):
            wait = bucket.take()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(waits)) == 400
    assert max(waits) == pytest.approx(3.99, abs=1e-3)


# --- sliding window ------------------------------------------------------------------


def test_sliding_window_allows_a_full_burst_then_waits_for_the_window():
    """limit sends back to back, then the next one when the first leaves."""
    clock = FakeClock(50.0)
    limiter = SlidingWindowLimiter(3, clock=clock)
    assert [limiter.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take() == pytest.approx(1.0)
    assert limiter.take() == pytest.approx(1.0)
    clock.sleep(0.4)
    assert limiter.take() == pytest.approx(0.6)
    assert limiter.take() == pytest.approx(1.6)


@pytest.mark.parametrize("start", [0.0, 0.1, 987654321.123])
@pytest.mark.parametrize("gap", [0.0, 0.003, 0.37])
@pytest.mark.parametrize("limit", [1, 2, 20, 80])
def test_sliding_window_never_exceeds_the_limit(limit, gap, start):
    """No half-open second ever holds more than `limit` sends, whatever the pace."""
    clock = FakeClock(start)
    limiter = SlidingWindowLimiter(limit, clock=clock)
    times = send_times(limiter, clock, limit * 4 + 3, gap=gap)
    assert max_in_window(times) <= limit
    if gap == 0.0:
        # Sending flat out uses the whole allowance.
        assert max_in_window(times) == limit


def test_sliding_window_random_pattern():
    """Random idle times and batch sizes: the bound holds everywhere."""
    rng = random.Random(42)
    clock = FakeClock(1000.0)
    limiter = SlidingWindowLimiter(5, window=1.0, clock=clock)
    times = []
    for _ in range(400):
        n = rng.randint(1, 3)
        clock.sleep(limiter.take(n))
        times.extend([clock()] * n)
        clock.sleep(rng.choice([0.0, 0.0, 0.01, 0.2, 0.9, 1.7]))
    assert max_in_window(times) <= 5


def test_sliding_window_custom_window():
    """A per-minute limit works the same way."""
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, window=60.0, clock=clock)
    assert limiter.take() == 0.0
    clock.sleep(10)
    assert limiter.take() == 0.0
    assert limiter.take() == pytest.approx(50.0)


def test_sliding_window_take_n():
    """n sends at one instant count n times."""
    clock = FakeClock()
    limiter = SlidingWindowLimiter(4, clock=clock)
    assert limiter.take(3) == 0.0
    assert limiter.take(2) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        limiter.take(5)
    with pytest.raises(ValueError):
        limiter.take(0)


@pytest.mark.parametrize(
    ("limit", "window"), [(0, 1.0), (2.5, 1.0), (True, 1.0), (3, 0), (3, -1.0)]
)
def test_sliding_window_rejects_bad_settings(limit, window):
    """The limit is a positive integer and the window a positive duration."""
    with pytest.raises(ValueError):
        SlidingWindowLimiter(limit, window)
