"""Unit tests of services.backoff.CompletionWindowLimiter (pure Python, real time).

The provider counts requests when they *arrive*, anywhere between their start
and their end; these tests send through the limiter with random delays before
and after the "arrival" and check the arrivals of every one-second window.
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


def most_in_window(instants, window):
    instants = sorted(instants)
    return max(
        bisect_left(instants, start + window, lo=i) - i
        for i, start in enumerate(instants)
    )


def send(limiter, arrivals, rng, lock):
    slot = limiter.start()
    try:
        time.sleep(rng.uniform(0, 0.03))  # connect, send: arrival comes later
        with lock:
            arrivals.append(time.monotonic())
        time.sleep(rng.uniform(0, 0.03))  # the answer comes back
    finally:
        limiter.end(slot)


def test_arrivals_never_exceed_the_limit_in_any_window():
    limiter = CompletionWindowLimiter(5, window=0.2)
    arrivals, lock, rng = [], threading.Lock(), random.Random(4711)
    for _ in range(30):
        send(limiter, arrivals, rng, lock)
    assert len(arrivals) == 30
    assert most_in_window(arrivals, 0.2) <= 5


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
    limiter = CompletionWindowLimiter(3, window=10.0)
    start = time.monotonic()
    for _ in range(3):
        limiter.end(limiter.start())
    assert time.monotonic() - start < 0.5


def test_the_next_request_waits_for_the_window_after_the_oldest_end():
    limiter = CompletionWindowLimiter(2, window=0.3)
    first = limiter.start()
    limiter.end(first)
    limiter.end(limiter.start())
    before = time.monotonic()
    limiter.end(limiter.start())
    assert time.monotonic() >= first[0] + 0.3
    assert time.monotonic() - before < 0.6


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_rejects_a_bad_limit(limit):
    with pytest.raises(ValueError):
        CompletionWindowLimiter(limit)
