"""The GCRA limiter: throttled's semantics, driven by a hand-stepped clock."""

from __future__ import annotations

import pytest

from gitsecure.controller.ratelimit import GcraLimiter


class Clock:
    """Seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_plus_one_at_once_then_the_sustained_rate() -> None:
    clock = Clock()
    limiter = GcraLimiter(rate=2, burst=2, clock=clock)
    # throttled: MaxBurst 2 lets 3 requests through at once.
    assert [limiter.check("k").allowed for _ in range(4)] == [True, True, True, False]
    clock.now += 0.25  # half an emission interval: still limited
    assert not limiter.check("k").allowed
    clock.now += 0.25
    assert limiter.check("k").allowed
    assert not limiter.check("k").allowed
    clock.now += 1.5  # the burst comes back in full
    assert [limiter.check("k").allowed for _ in range(4)] == [True, True, True, False]


def test_rejections_do_not_push_the_window() -> None:
    clock = Clock()
    limiter = GcraLimiter(rate=1, burst=0, clock=clock)
    assert limiter.check("k").allowed
    for _ in range(50):
        assert not limiter.check("k").allowed
    clock.now += 1.0
    assert limiter.check("k").allowed


def test_keys_are_independent() -> None:
    limiter = GcraLimiter(rate=1, burst=0, clock=Clock())
    assert limiter.check("a").allowed
    assert not limiter.check("a").allowed
    assert limiter.check("b").allowed


def test_headers_as_throttled_reports_them() -> None:
    clock = Clock()
    limiter = GcraLimiter(rate=2, burst=2, clock=clock)
    first = limiter.check("k")
    assert first.headers() == {"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "1"}
    limiter.check("k")
    third = limiter.check("k")
    assert third.allowed and third.remaining == 0
    denied = limiter.check("k")
    assert not denied.allowed
    assert denied.retry_after == pytest.approx(0.5)
    assert denied.headers()["Retry-After"] == "1"
    assert denied.headers()["X-RateLimit-Remaining"] == "0"
    assert denied.reset_after == pytest.approx(1.5)


def test_fractional_rates() -> None:
    clock = Clock()
    limiter = GcraLimiter(rate=0.5, burst=0, clock=clock)
    assert limiter.check("k").allowed
    clock.now += 1.9
    assert not limiter.check("k").allowed
    clock.now += 0.1
    assert limiter.check("k").allowed


def test_idle_keys_are_forgotten() -> None:
    clock = Clock()
    limiter = GcraLimiter(rate=10, burst=1, clock=clock)
    for index in range(1000):
        limiter.check(f"client-{index}")
    assert len(limiter) == 1000
    clock.now += 1.0  # every key's theoretical arrival time has passed
    limiter.check("late")
    assert len(limiter) == 1


def test_memory_is_bounded_by_max_keys_least_recently_used_first() -> None:
    clock = Clock()
    limiter = GcraLimiter(rate=1, burst=0, clock=clock, max_keys=3)
    for key in ("a", "b", "c"):
        assert limiter.check(key).allowed
    assert not limiter.check("a").allowed  # "a" is now the most recently used
    assert limiter.check("d").allowed  # evicts "b", the least recently used
    assert len(limiter) == 3
    assert limiter.check("b").allowed  # forgotten, so it starts afresh (and evicts "c")
    assert not limiter.check("a").allowed  # still remembered


@pytest.mark.parametrize(
    ("rate", "burst", "max_keys"),
    [(0, 1, 10), (-1, 1, 10), (float("nan"), 1, 10), (float("inf"), 1, 10), (1, -1, 10), (1, 1, 0)],
)
def test_invalid_settings(rate: float, burst: int, max_keys: int) -> None:
    with pytest.raises(ValueError):
        GcraLimiter(rate=rate, burst=burst, max_keys=max_keys)
