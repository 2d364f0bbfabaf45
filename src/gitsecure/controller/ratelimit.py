"""A GCRA rate limiter with the semantics of the Go ``throttled`` library used by sealed-secrets.

The Generic Cell Rate Algorithm keeps one number per key, the *theoretical
arrival time* (TAT): when the next request would arrive if requests came
exactly at the sustained rate. A request is allowed while the TAT is less than
``burst + 1`` emission intervals ahead of now, so ``burst + 1`` requests pass at
once and then one per ``1/rate`` seconds, as with ``throttled.RateQuota{MaxRate:
PerSec(rate), MaxBurst: burst}``.

Memory is bounded: a key whose TAT has passed carries no state (it behaves
exactly like a new key), so idle keys are dropped, and at most ``max_keys`` are
kept (least recently used dropped first, like throttled's LRU ``memstore``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_MAX_KEYS = 65536
"""The size of the LRU store upstream creates (``memstore.New(65536)``)."""


@dataclass(frozen=True)
class Decision:
    """The outcome of one request, with what throttled reports in its ``X-RateLimit-*`` headers."""

    allowed: bool
    limit: int
    """``burst + 1``: the requests allowed at once."""
    remaining: int
    """Requests still allowed at once after this one."""
    reset_after: float
    """Seconds until the key is back to a full burst."""
    retry_after: float | None
    """When limited: seconds until a request would be allowed; None when allowed."""

    def headers(self) -> dict[str, str]:
        """The response headers throttled's ``HTTPRateLimiter`` sets (whole seconds, rounded up)."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_after)),
        }
        if self.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(self.retry_after))
        return headers


class GcraLimiter:
    """Per-key GCRA limiting; thread-safe.

    ``clock`` returns seconds on a monotonic scale (``time.monotonic`` by
    default); tests pass their own to step time by hand.
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        """``rate`` requests per second sustained (> 0), ``burst`` extra requests at once (>= 0)."""
        if not rate > 0 or math.isinf(rate):
            raise ValueError(f"rate must be a positive number of requests per second, not {rate!r}")
        if burst < 0:
            raise ValueError(f"burst must not be negative, not {burst!r}")
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self._interval = 1.0 / rate
        self._tolerance = self._interval * (burst + 1)
        self._limit = burst + 1
        self._clock = clock
        self._max_keys = max_keys
        self._tats: OrderedDict[str, float] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Keys currently holding state."""
        with self._lock:
            return len(self._tats)

    def check(self, key: str) -> Decision:
        """Count one request for ``key`` and say whether it may proceed."""
        with self._lock:
            now = self._clock()
            self._evict_idle(now)
            tat = max(self._tats.get(key, now), now)
            new_tat = tat + self._interval
            allow_at = new_tat - self._tolerance
            if now < allow_at:
                # Limited: the stored TAT stays as it was, so rejected requests cost nothing.
                self._touch(key)
                ttl = tat - now
                return Decision(False, self._limit, self._remaining(ttl), ttl, allow_at - now)
            self._tats[key] = new_tat
            self._touch(key)
            ttl = new_tat - now
            return Decision(True, self._limit, self._remaining(ttl), ttl, None)

    def _remaining(self, ttl: float) -> int:
        # throttled: next = tolerance - ttl; remaining = next / interval when next > -interval.
        spare = self._tolerance - ttl
        if spare <= -self._interval:
            return 0
        # A small epsilon so that float rounding of exact multiples does not lose a whole request.
        return max(0, int(spare / self._interval + 1e-9))

    def _touch(self, key: str) -> None:
        if key in self._tats:
            self._tats.move_to_end(key)
        while len(self._tats) > self._max_keys:
            self._tats.popitem(last=False)

    def _evict_idle(self, now: float) -> None:
        # A key whose TAT has passed behaves exactly like an absent one. The oldest entries are the
        # likeliest to be idle; stopping at the first live one keeps each call O(1) amortised.
        while self._tats:
            key, tat = next(iter(self._tats.items()))
            if tat > now:
                return
            del self._tats[key]
