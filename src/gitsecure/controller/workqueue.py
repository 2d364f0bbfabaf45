"""A work queue of object keys with per-item backoff, shaped like client-go's.

Watch events only *enqueue* ``namespace/name``; worker threads take keys off
the queue and reconcile them. The properties that matter:

* a key is queued at most once, however many events arrive for it;
* a key is never processed by two workers at once: an event that arrives while
  it is being processed marks it dirty, and it is queued again when done;
* a failed key comes back after a jittered exponential backoff (5 ms doubling,
  capped), so a stuck object cannot spin and a flapping API server is not
  hammered; a success resets its backoff.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

BASE_DELAY = 0.005
MAX_DELAY = 300.0


@dataclass
class Backoff:
    """Per-key failure counts and the delay they earn."""

    base: float = BASE_DELAY
    cap: float = MAX_DELAY
    _failures: dict[str, int] = field(default_factory=dict)

    def next_delay(self, key: str) -> float:
        """Count one more failure of ``key`` and return how long to wait before the next try."""
        count = self._failures.get(key, 0)
        self._failures[key] = count + 1
        delay = min(self.cap, self.base * (2**count))
        # Full jitter on the upper half spreads retries of many keys that failed together.
        jittered: float = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - jitter, not cryptography
        return jittered

    def failures(self, key: str) -> int:
        """How many times ``key`` has failed since its last success."""
        return self._failures.get(key, 0)

    def forget(self, key: str) -> None:
        """Reset ``key`` after a success (or when it is given up)."""
        self._failures.pop(key, None)


class WorkQueue:
    """A thread-safe queue of keys: deduplicated, one worker per key, delayed re-adds."""

    def __init__(self, *, backoff: Backoff | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._delayed: list[tuple[float, int, str]] = []
        self._sequence = itertools.count()
        self._shutdown = False

    def add(self, key: str) -> None:
        """Queue ``key`` now (a no-op when it is already waiting)."""
        with self._cond:
            self._add_locked(key)

    def _add_locked(self, key: str) -> None:
        if self._shutdown or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._cond.notify()

    def add_after(self, key: str, delay: float) -> None:
        """Queue ``key`` once ``delay`` seconds have passed."""
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            if self._shutdown:
                return
            heapq.heappush(self._delayed, (self._clock() + delay, next(self._sequence), key))
            self._cond.notify()

    def add_rate_limited(self, key: str) -> float:
        """Queue ``key`` after its backoff delay; return the delay."""
        with self._cond:
            delay = self.backoff.next_delay(key)
        self.add_after(key, delay)
        return delay

    def forget(self, key: str) -> None:
        """Reset the backoff of ``key``."""
        with self._cond:
            self.backoff.forget(key)

    def failures(self, key: str) -> int:
        """Failures of ``key`` since its last success."""
        with self._cond:
            return self.backoff.failures(key)

    def _promote_due_locked(self) -> float | None:
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            self._add_locked(key)
        return self._delayed[0][0] - now if self._delayed else None

    def get(self, timeout: float | None = None) -> str | None:
        """The next key to process, or None on shutdown (or when ``timeout`` passes)."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            while True:
                wait = self._promote_due_locked()
                if self._shutdown:
                    return None
                if self._queue:
                    key = self._queue.popleft()
                    self._dirty.discard(key)
                    self._processing.add(key)
                    return key
                if deadline is not None:
                    left = deadline - self._clock()
                    if left <= 0:
                        return None
                    wait = left if wait is None else min(wait, left)
                self._cond.wait(wait)

    def done(self, key: str) -> None:
        """Mark ``key`` processed; it is queued again if an event arrived meanwhile."""
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty and not self._shutdown:
                self._queue.append(key)
                self._cond.notify()

    def shutdown(self) -> None:
        """Wake every waiting worker; no more keys are handed out."""
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue) + len(self._delayed)

    def idle(self) -> bool:
        """True when nothing is queued, delayed or being processed."""
        with self._cond:
            return not (self._queue or self._delayed or self._processing)
