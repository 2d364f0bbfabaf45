"""When ExternalSecrets and stores are looked at again: jittered refreshes, capped backoff, spread start.

ESO requeues every ExternalSecret exactly ``refreshInterval`` after its last sync, so ESs created or
restarted together stay aligned and hit their provider in one burst forever (reference §5 item 2), and
its error backoff grows to ~16 minutes, which makes a fixed provider look ignored. Here:

* a refresh is scheduled ``interval ± 10%`` after the last one, and one that comes up to 10% early
  counts as due, so phases drift apart instead of staying in lock step;
* a provider failure retries after 1 s, doubling, capped at ``--provider-backoff-max`` (5 min), ±10%;
* at start-up, ExternalSecrets that synced before are spread over up to a tenth of their interval
  (at most a minute) instead of all being refreshed at once; new ones go at once (the per-store rate
  limit in :mod:`~gitsecure.controller.external.providers.cache` smooths a burst of those).
"""

from __future__ import annotations

import datetime as dt
import random
import threading

JITTER = 0.1
BACKOFF_BASE = 1.0
BACKOFF_MAX = 300.0
STARTUP_SPREAD_MAX = 60.0


class Scheduler:
    """Delays for the external-secrets work queue; thread-safe."""

    def __init__(
        self,
        *,
        backoff_base: float = BACKOFF_BASE,
        backoff_max: float = BACKOFF_MAX,
        jitter: float = JITTER,
        rng: random.Random | None = None,
    ) -> None:
        """``rng`` makes the jitter reproducible in tests."""
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.jitter = jitter
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def _spread(self) -> float:
        with self._lock:
            return self._rng.uniform(-self.jitter, self.jitter)

    def due(self, interval: dt.timedelta, refresh_time: dt.datetime, now: dt.datetime) -> bool:
        """Whether a periodic refresh is due (up to ``jitter`` of the interval early counts)."""
        return now - refresh_time >= interval * (1 - self.jitter)

    def refresh_delay(self, interval: dt.timedelta, refresh_time: dt.datetime, now: dt.datetime) -> float | None:
        """Seconds until the next periodic refresh, jittered; None when the interval says "never" (<= 0)."""
        if interval <= dt.timedelta(0):
            return None
        remaining = (interval - (now - refresh_time)).total_seconds()
        return max(0.0, remaining + self._spread() * interval.total_seconds())

    def every(self, interval: dt.timedelta) -> float:
        """A jittered period (store re-validation)."""
        seconds = interval.total_seconds()
        return max(1.0, seconds + self._spread() * seconds)

    def startup_delay(self, interval: dt.timedelta) -> float:
        """Where in the start-up window an ExternalSecret that synced before is looked at again."""
        window = min(STARTUP_SPREAD_MAX, max(0.0, interval.total_seconds()) * self.jitter)
        with self._lock:
            return self._rng.uniform(0.0, window)

    def failed(self, key: str) -> float:
        """Count a failure of ``key`` and return its backoff delay in seconds (capped, jittered)."""
        with self._lock:
            count = self._failures.get(key, 0)
            self._failures[key] = count + 1
            # 2**count overflows float well past any cap; the cap is reached long before.
            delay: float = min(self.backoff_max, self.backoff_base * 2.0 ** min(count, 64))
            jittered: float = delay * (1 + self._rng.uniform(-self.jitter, self.jitter))
        return min(self.backoff_max, jittered)

    def failures(self, key: str) -> int:
        """Failures of ``key`` since its last success."""
        with self._lock:
            return self._failures.get(key, 0)

    def succeeded(self, key: str) -> None:
        """Reset the backoff of ``key``."""
        with self._lock:
            self._failures.pop(key, None)
