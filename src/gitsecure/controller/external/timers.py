"""One pending timer per key, the latest schedule winning.

The shared :class:`~gitsecure.controller.workqueue.WorkQueue` keeps every ``add_after`` it is given, so an
ExternalSecret looked at because of a watch event would gain a second refresh chain next to its periodic
one, and chains would pile up. Here a key has at most one timer: scheduling it again replaces the
pending one (the latest pass knows best), and :meth:`Timers.run` hands due keys to ``fire``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Timers:
    """Keyed timers on one thread; ``fire(key)`` runs on that thread and must be quick (enqueue only)."""

    def __init__(self, fire: Callable[[str], None], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._fire = fire
        self._clock = clock
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, str]] = []
        self._pending: dict[str, int] = {}
        self._sequence = itertools.count()
        self._stopped = False

    def schedule(self, key: str, delay: float) -> None:
        """Fire ``key`` after ``delay`` seconds, replacing its pending timer."""
        with self._cond:
            number = next(self._sequence)
            self._pending[key] = number
            heapq.heappush(self._heap, (self._clock() + max(0.0, delay), number, key))
            self._cond.notify()

    def cancel(self, key: str) -> None:
        """Drop the pending timer of ``key``."""
        with self._cond:
            self._pending.pop(key, None)

    def pending(self, key: str) -> bool:
        """Whether ``key`` has a timer."""
        with self._cond:
            return key in self._pending

    def due(self) -> list[str]:
        """Pop the keys whose timers are due (stale entries skipped)."""
        now = self._clock()
        fired: list[str] = []
        with self._cond:
            while self._heap and self._heap[0][0] <= now:
                _, number, key = heapq.heappop(self._heap)
                if self._pending.get(key) == number:
                    del self._pending[key]
                    fired.append(key)
        return fired

    def run(self) -> None:
        """Fire due keys until :meth:`stop`."""
        while True:
            for key in self.due():
                self._fire(key)
            with self._cond:
                if self._stopped:
                    return
                wait = self._heap[0][0] - self._clock() if self._heap else None
                if wait is None or wait > 0:
                    self._cond.wait(wait)
                if self._stopped:
                    return

    def stop(self) -> None:
        """Make :meth:`run` return."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
