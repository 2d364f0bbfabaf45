"""Leader election on a ``coordination.k8s.io/v1`` Lease, as client-go's ``leaderelection`` does it.

The Lease spec is client-go's record: ``holderIdentity``, ``leaseDurationSeconds``,
``acquireTime``, ``renewTime`` (MicroTime, microseconds) and ``leaseTransitions``.
A candidate takes the Lease when it is free (no holder: never held, or
released) or expired, counting a transition; the leader renews it every
``retry_period`` and keeps its ``acquireTime``. Expiry is judged as client-go
judges it: by this process's clock, ``leaseDurationSeconds`` after the record
was last seen to change, never by comparing another host's timestamps.

Every write is a PUT carrying the resourceVersion that was read (or last
written), so when two candidates race, the API server's 409 decides: the
loser simply tries again next round. A leader that cannot renew within
``renew_deadline``, or sees another holder, has lost. :meth:`release` hands
the Lease back (empty holder, one-second duration) so that another replica
takes over at once instead of after the lease duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from gitsecure.controller.kubeapi import ApiError, Conflict, KubeApi
from gitsecure.errors import UsageError

log = logging.getLogger("gitsecure.controller.leader")

JITTER_FACTOR = 1.2  # client-go's: followers retry after retry_period * (1 + up to 1.2)
LEASE_API_VERSION = "coordination.k8s.io/v1"


def micro_time(moment: dt.datetime) -> str:
    """A ``metav1.MicroTime`` as the API serves it: RFC 3339 in UTC with six fraction digits."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LeaderElector:
    """One candidate for one Lease. The sync methods are thread-safe; the async ones run them in threads."""

    def __init__(
        self,
        api: KubeApi,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: dt.timedelta,
        renew_deadline: dt.timedelta,
        retry_period: dt.timedelta,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        if not identity:
            raise UsageError("leader election needs a non-empty identity")
        if retry_period <= dt.timedelta(0) or renew_deadline <= retry_period * JITTER_FACTOR:
            raise UsageError("leader election: the renew deadline must exceed 1.2 times the retry period (both > 0)")
        if lease_duration <= renew_deadline:
            raise UsageError("leader election: the lease duration must exceed the renew deadline")
        self._api = api
        self.namespace, self.name, self.identity = namespace, name, identity
        self._duration_seconds = max(1, int(lease_duration.total_seconds()))
        self._renew_deadline = renew_deadline.total_seconds()
        self._retry_period = retry_period.total_seconds()
        self._clock = clock
        self._lock = threading.Lock()  # one lease operation at a time: a renewal never races the release
        self._lease: dict[str, Any] | None = None  # the Lease last read or written: its resourceVersion is ours to use
        self._observed: dict[str, Any] = {}  # its spec
        self._observed_at = dt.datetime.min.replace(tzinfo=dt.UTC)
        self._leading = False
        self._released = False

    @property
    def is_leader(self) -> bool:
        """Whether this candidate holds the Lease (as of its last successful acquire or renewal)."""
        return self._leading

    @property
    def holder(self) -> str:
        """The holder last seen on the Lease ("" when free or not read yet)."""
        return str(self._observed.get("holderIdentity") or "")

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this candidate holds the Lease (True) or ``stop`` is set (False)."""
        self._released = False
        while not stop.is_set():
            if await asyncio.to_thread(self.try_acquire_or_renew, timeout=self._renew_deadline):
                log.info("acquired the lease %s/%s as %s", self.namespace, self.name, self.identity)
                return True
            wait = self._retry_period * (1 + random.uniform(0, JITTER_FACTOR))  # noqa: S311 - jitter only
            await _wait(stop, wait)
        return False

    async def hold(self, stop: asyncio.Event) -> None:
        """Renew every retry period; return when ``stop`` is set or the leadership is lost (see :attr:`is_leader`)."""
        while self._leading and not stop.is_set():
            if not await self._renew(stop):
                if not stop.is_set():
                    self._leading = False
                    log.error("lost the lease %s/%s (holder now %r)", self.namespace, self.name, self.holder)
                return
            await _wait(stop, self._retry_period)

    async def _renew(self, stop: asyncio.Event) -> bool:
        """One renewal: retried every retry period until it succeeds or the renew deadline passes."""
        deadline = time.monotonic() + self._renew_deadline
        while (left := deadline - time.monotonic()) > 0:
            if await asyncio.to_thread(self.try_acquire_or_renew, timeout=left):
                return True
            if self.holder != self.identity or stop.is_set():
                return False  # someone else holds it now: no point in trying until the deadline
            await _wait(stop, min(self._retry_period, max(0.0, deadline - time.monotonic())))
        return False

    def try_acquire_or_renew(self, *, timeout: float | None = None) -> bool:
        """One round of client-go's ``tryAcquireOrRenew``; True when this candidate holds the Lease afterwards.

        ``timeout`` bounds the whole round (all its requests), so that a
        renewal never lands after its deadline.
        """
        with self._lock:
            if self._released:
                return False
            ok = self._round(None if timeout is None else time.monotonic() + timeout)
            if ok:
                self._leading = True
            elif self.holder != self.identity:
                self._leading = False  # a failed request alone does not end leadership; another holder does
            return ok

    def _round(self, deadline: float | None) -> bool:
        now = self._clock()
        record = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self._duration_seconds,
            "acquireTime": micro_time(now),
            "renewTime": micro_time(now),
            "leaseTransitions": 0,
        }
        # 1. The leader's fast path: write over the Lease it last wrote, without reading it first.
        if self._lease is not None and self.holder == self.identity and self._valid(now):
            record["acquireTime"] = self._observed.get("acquireTime") or record["acquireTime"]
            record["leaseTransitions"] = int(self._observed.get("leaseTransitions") or 0)
            with contextlib.suppress(ApiError):  # a 409 or an outage: read the Lease and decide again
                return self._write(record, _left(deadline))
        # 2. Read the Lease, or create it.
        try:
            lease = self._api.get_lease(self.namespace, self.name, timeout=_left(deadline), retry=False)
            if lease is None:
                body = {
                    "apiVersion": LEASE_API_VERSION,
                    "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": record,
                }
                self._observe(self._api.create_lease(self.namespace, body, timeout=_left(deadline), retry=False), now)
                return True
        except ApiError as exc:
            log.debug("lease %s/%s: %s", self.namespace, self.name, exc.message)
            return False
        # 3. Someone else holds an unexpired Lease: follow.
        self._observe(lease, now)
        if self.holder and self.holder != self.identity and self._valid(now):
            return False
        # 4. Take it over (a transition) or renew it (keeping acquireTime), with the resourceVersion just read.
        if self.holder == self.identity:
            record["acquireTime"] = self._observed.get("acquireTime") or record["acquireTime"]
            record["leaseTransitions"] = int(self._observed.get("leaseTransitions") or 0)
        else:
            record["leaseTransitions"] = int(self._observed.get("leaseTransitions") or 0) + 1
        try:
            return self._write(record, _left(deadline))
        except Conflict:
            log.debug("lease %s/%s: another candidate wrote it first", self.namespace, self.name)
        except ApiError as exc:
            log.debug("lease %s/%s: %s", self.namespace, self.name, exc.message)
        return False

    def _write(self, spec: dict[str, Any], timeout: float | None) -> bool:
        assert self._lease is not None
        body = {**self._lease, "spec": spec}
        written = self._api.replace_lease(self.namespace, self.name, body, timeout=timeout, retry=False)
        self._observe(written, self._clock())
        return True

    def _observe(self, lease: dict[str, Any], now: dt.datetime) -> None:
        self._lease = lease
        spec = dict(lease.get("spec") or {})
        if spec != self._observed:
            if spec.get("holderIdentity") != self._observed.get("holderIdentity"):
                log.info("lease %s/%s holder: %r", self.namespace, self.name, spec.get("holderIdentity") or "")
            self._observed, self._observed_at = spec, now

    def _valid(self, now: dt.datetime) -> bool:
        duration = int(self._observed.get("leaseDurationSeconds") or 0)
        return self._observed_at + dt.timedelta(seconds=duration) > now

    def release(self) -> None:
        """Give the Lease up if this candidate holds it (empty holder, one-second duration, as client-go).

        Best effort and bounded by the renew deadline: when it fails, the
        Lease simply expires after its duration.
        """
        with self._lock:
            self._released = True
            was_leading, self._leading = self._leading, False
            if not was_leading and self.holder != self.identity:
                return  # never held it (a leader that lost by timeout still tries: the record may name it)
            try:
                lease = self._api.get_lease(self.namespace, self.name, timeout=self._renew_deadline, retry=False)
                if lease is None:
                    return
                self._observe(lease, self._clock())
                if self.holder != self.identity:
                    return
                now = micro_time(self._clock())
                spec = {
                    "holderIdentity": "",
                    "leaseDurationSeconds": 1,
                    "acquireTime": now,
                    "renewTime": now,
                    "leaseTransitions": int(self._observed.get("leaseTransitions") or 0),
                }
                self._write(spec, self._renew_deadline)
                log.info("released the lease %s/%s", self.namespace, self.name)
            except ApiError as exc:
                log.warning(
                    "cannot release the lease %s/%s (it expires on its own): %s", self.namespace, self.name, exc.message
                )


def _left(deadline: float | None) -> float | None:
    """The request timeout that ends at ``deadline`` (a past deadline gives a request that fails at once)."""
    return None if deadline is None else max(0.001, deadline - time.monotonic())


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less when ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
