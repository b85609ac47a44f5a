"""Unit tests of services.backoff.CompletionWindowLimiter (pure Python).

The provider counts requests when they *arrive*, anywhere between their start
and their end; these tests send through the limiter with random delays before
and after the "arrival" and check the arrivals of every one-second window.
One sender runs on a fake clock that moves only when slept on, so every instant
is exact whatever the machine's load. Concurrent senders need real threads and
so real time: their check is the limiter's invariant (request ``i + limit``
starts after request ``i`` ended, plus the window), which no scheduling delay
can break, and nothing there bounds how long anything takes.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from bisect import bisect_left
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from services.backoff import CompletionWindowLimiter  # noqa: E402


class FakeClock:
    """A monotonic clock that only moves when slept on."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.slept.append(seconds)
        self.now += seconds


def most_in_window(instants, window):
    instants = sorted(instants)
    return max(
        bisect_left(instants, start + window, lo=i) - i
        for i, start in enumerate(instants)
    )


def send(limiter, arrivals, rng, lock, clock=time.monotonic, sleep=time.sleep):
    slot = limiter.start()
    try:
        sleep(rng.uniform(0, 0.03))  # connect, send: arrival comes later
        with lock:
            arrivals.append(clock())
        sleep(rng.uniform(0, 0.03))  # the answer comes back
    finally:
        limiter.end(slot)


def test_arrivals_never_exceed_the_limit_in_any_window():
    clock = FakeClock()
    limiter = CompletionWindowLimiter(5, window=0.2, clock=clock, sleep=clock.sleep)
    arrivals, lock, rng = [], threading.Lock(), random.Random(4711)
    for _ in range(30):
        send(limiter, arrivals, rng, lock, clock, clock.sleep)
    assert len(arrivals) == 30
    assert most_in_window(arrivals, 0.2) <= 5
    # The limit is reached, not merely respected: the limiter did hold senders.
    assert most_in_window(arrivals, 0.2) == 5


def test_concurrent_senders_share_the_limit():
    limiter = CompletionWindowLimiter(4, window=0.2)
    arrivals, lock = [], threading.Lock()

    def worker(seed):
        rng = random.Random(seed)
        for _ in range(8):
            send(limiter, arrivals, rng, lock)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(arrivals) == 24
    assert most_in_window(arrivals, 0.2) <= 4


def test_a_burst_up_to_the_limit_does_not_wait():
    clock = FakeClock()
    limiter = CompletionWindowLimiter(3, window=10.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.end(limiter.start())
    assert clock.slept == []


def test_the_next_request_waits_for_the_window_after_the_oldest_end():
    clock = FakeClock()
    limiter = CompletionWindowLimiter(2, window=0.3, clock=clock, sleep=clock.sleep)
    first = limiter.start()
    clock.sleep(0.05)  # the first request takes 50 ms
    limiter.end(first)
    limiter.end(limiter.start())
    clock.slept.clear()
    third = limiter.start()
    assert clock() == pytest.approx(first[0] + 0.3)
    assert sum(clock.slept) == pytest.approx(0.3)
    limiter.end(third)


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_rejects_a_bad_limit(limit):
    with pytest.raises(ValueError):
        CompletionWindowLimiter(limit)
