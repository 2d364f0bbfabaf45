"""Provider clients shared across reconciles, and a per-store rate limit in front of them.

ESO builds a client (and logs in to Vault) on every reconcile, which floods Vault with token leases and
AWS with STS calls (reference §5 items 1 and 3). Here one client is kept per store identity:
``(kind, namespace, name, resourceVersion, ExternalSecret namespace)``. The ExternalSecret's namespace is
part of the key because a ClusterSecretStore with referent auth reads its credentials there. A store edit
changes its resourceVersion, so its clients are closed and built again with the new spec.

Every call through a cached client first takes a token from its store's bucket (``rate`` per second,
``burst`` at once): a thousand ExternalSecrets refreshing together queue behind the bucket instead of
tripping the provider's own throttling. A client is used by one thread at a time unless it declares
``thread_safe = True``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from gitsecure.controller.external.model import FindSpec, RemoteRef
from gitsecure.controller.external.providers.base import Memo, SecretsClient, StoreContext, client_for, memo_slot

CacheKey = tuple[str, str, str, str, str]
StoreKey = tuple[str, str, str]
DEFAULT_RATE = 50.0
DEFAULT_BURST = 100
DEFAULT_MAX_ENTRIES = 512


class TokenBucket:
    """A token bucket handing out reservations: ``reserve()`` says how long to wait before the call."""

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        """``rate`` tokens per second (> 0), at most ``burst`` (>= 1) saved up."""
        if not rate > 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token (possibly one not yet earned) and return the seconds to wait until it is."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self._rate


class _CachedClient:
    """A cached client seen through its store's bucket (and lock); ``close`` is the cache's business."""

    def __init__(
        self,
        client: SecretsClient,
        bucket: TokenBucket,
        sleep: Callable[[float], object],
    ) -> None:
        self.client = client
        self._bucket = bucket
        self._sleep = sleep
        self._lock: AbstractContextManager[object] = (
            nullcontext() if getattr(client, "thread_safe", False) else threading.Lock()
        )

    def _wait(self) -> None:
        delay = self._bucket.reserve()
        if delay > 0:
            self._sleep(delay)

    def get_secret(self, ref: RemoteRef, memo: Memo | None = None) -> bytes:
        """See :meth:`SecretsClient.get_secret`; a read the memo answers takes no token."""
        if memo is None or memo_slot(ref) not in memo:
            self._wait()
        with self._lock:
            return self.client.get_secret(ref, memo)

    def get_secret_map(self, ref: RemoteRef, memo: Memo | None = None) -> dict[str, bytes]:
        """See :meth:`SecretsClient.get_secret_map`; a read the memo answers takes no token."""
        if memo is None or memo_slot(ref) not in memo:
            self._wait()
        with self._lock:
            return self.client.get_secret_map(ref, memo)

    def get_all_secrets(self, find: FindSpec) -> dict[str, bytes]:
        """See :meth:`SecretsClient.get_all_secrets`."""
        self._wait()
        with self._lock:
            return self.client.get_all_secrets(find)

    def validate(self) -> str:
        """See :meth:`SecretsClient.validate`."""
        self._wait()
        with self._lock:
            return self.client.validate()

    def close(self) -> None:
        """Nothing: the cache closes the client when the store changes or goes."""


class ClientCache:
    """Clients by store identity, least recently used dropped beyond ``max_entries``; thread-safe."""

    def __init__(
        self,
        factory: Callable[[StoreContext], SecretsClient] = client_for,
        *,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``sleep`` waits for a rate-limit reservation (pass a stop-aware wait); ``clock`` feeds the buckets."""
        self._factory = factory
        self._rate = rate
        self._burst = burst
        self._max = max_entries
        self._sleep = sleep
        self._clock = clock
        self._entries: OrderedDict[CacheKey, _CachedClient] = OrderedDict()
        self._buckets: dict[StoreKey, TokenBucket] = {}
        self._building: dict[CacheKey, threading.Lock] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(ctx: StoreContext) -> CacheKey:
        """The identity a client is cached under."""
        store = ctx.store
        return (store.kind, store.namespace or "", store.name, store.resource_version, ctx.es_namespace)

    def client(self, ctx: StoreContext) -> SecretsClient:
        """The cached client for ``ctx``, built on first use; building errors (ProviderError) are not cached."""
        key = self.key(ctx)
        with self._lock:
            cached = self._hit(key)
            if cached is not None:
                return cached
            building = self._building.setdefault(key, threading.Lock())
        # One login per store identity even when several workers ask at once; other stores are not held up.
        with building:
            with self._lock:
                cached = self._hit(key)
            if cached is not None:
                return cached
            try:
                client = self._factory(ctx)
            finally:
                with self._lock:
                    self._building.pop(key, None)
            stale = self._store(key, client)
        for old in stale:
            old.close()
        with self._lock:
            return self._entries[key] if key in self._entries else _CachedClient(client, self._bucket(key), self._sleep)

    def _hit(self, key: CacheKey) -> _CachedClient | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def _bucket(self, key: CacheKey) -> TokenBucket:
        store_key = key[:3]
        bucket = self._buckets.get(store_key)
        if bucket is None:
            bucket = self._buckets[store_key] = TokenBucket(rate=self._rate, burst=self._burst, clock=self._clock)
        return bucket

    def _store(self, key: CacheKey, client: SecretsClient) -> list[SecretsClient]:
        """Cache ``client``; return the clients it replaces (older resourceVersions) or pushes out."""
        stale: list[SecretsClient] = []
        with self._lock:
            for other in [k for k in self._entries if k[:3] == key[:3] and k[3] != key[3]]:
                stale.append(self._entries.pop(other).client)
            self._entries[key] = _CachedClient(client, self._bucket(key), self._sleep)
            while len(self._entries) > self._max:
                stale.append(self._entries.popitem(last=False)[1].client)
        return stale

    def evict_store(self, kind: str, namespace: str, name: str) -> None:
        """Close and forget every client of a store (it was deleted)."""
        with self._lock:
            gone = [k for k in self._entries if k[:3] == (kind, namespace, name)]
            clients = [self._entries.pop(k).client for k in gone]
            self._buckets.pop((kind, namespace, name), None)
        for client in clients:
            client.close()

    def close(self) -> None:
        """Close every client (controller shutdown)."""
        with self._lock:
            clients = [entry.client for entry in self._entries.values()]
            self._entries.clear()
        for client in clients:
            client.close()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
