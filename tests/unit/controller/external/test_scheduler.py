"""Jittered refreshes, capped backoff, start-up spread, keyed timers, the per-store rate limit and client cache."""

from __future__ import annotations

import contextlib
import datetime as dt
import random

from gitsecure.controller.external.model import StoreSpec
from gitsecure.controller.external.providers.base import ProviderError, StoreContext
from gitsecure.controller.external.providers.cache import ClientCache, TokenBucket
from gitsecure.controller.external.scheduler import Scheduler
from gitsecure.controller.external.timers import Timers
from tests.unit.controller.external.fakes import FakeProvider

T0 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def test_refresh_delays_are_spread_within_ten_percent() -> None:
    scheduler = Scheduler(rng=random.Random(1))
    delays = [scheduler.refresh_delay(HOUR, T0, T0) for _ in range(500)]
    assert all(d is not None and 3240 <= d <= 3960 for d in delays)
    assert max(d for d in delays if d) - min(d for d in delays if d) > 500  # actually spread, not constant
    assert scheduler.refresh_delay(dt.timedelta(0), T0, T0) is None
    assert scheduler.refresh_delay(HOUR, T0, T0 + 2 * HOUR) == 0.0


def test_a_refresh_up_to_ten_percent_early_counts_as_due() -> None:
    scheduler = Scheduler()
    assert scheduler.due(HOUR, T0, T0 + dt.timedelta(minutes=54))
    assert not scheduler.due(HOUR, T0, T0 + dt.timedelta(minutes=53))


def test_backoff_starts_at_one_second_doubles_and_is_capped() -> None:
    scheduler = Scheduler(rng=random.Random(2), backoff_max=300.0)
    delays = [scheduler.failed("k") for _ in range(12)]
    for count, delay in enumerate(delays[:8]):
        assert 0.9 * 2**count <= delay <= 1.1 * 2**count
    assert all(d <= 300.0 for d in delays) and delays[-1] >= 270.0
    assert scheduler.failures("k") == 12
    scheduler.succeeded("k")
    assert scheduler.failures("k") == 0 and scheduler.failed("k") <= 1.1
    assert scheduler.failed("other") <= 1.1  # per key


def test_backoff_cap_is_configurable() -> None:
    scheduler = Scheduler(backoff_max=10.0)
    assert max(scheduler.failed("k") for _ in range(20)) == 10.0


def test_startup_spread_is_a_tenth_of_the_interval_at_most_a_minute() -> None:
    scheduler = Scheduler(rng=random.Random(3))
    short = [scheduler.startup_delay(dt.timedelta(minutes=5)) for _ in range(200)]
    assert all(0 <= d <= 30 for d in short) and max(short) > 20
    long = [scheduler.startup_delay(dt.timedelta(hours=10)) for _ in range(200)]
    assert all(0 <= d <= 60 for d in long) and max(long) > 50


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_timers_keep_one_pending_timer_per_key_latest_wins() -> None:
    clock = ManualClock()
    fired: list[str] = []
    timers = Timers(fired.append, clock=clock)
    timers.schedule("a", 10)
    timers.schedule("a", 50)  # replaces the first
    timers.schedule("b", 20)
    clock.now += 30
    assert timers.due() == ["b"]
    clock.now += 30
    assert timers.due() == ["a"]
    assert timers.due() == [] and not timers.pending("a")
    timers.schedule("c", 1)
    timers.cancel("c")
    clock.now += 5
    assert timers.due() == []


def test_token_bucket_lets_a_burst_through_then_paces() -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate=10.0, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert [round(bucket.reserve(), 3) for _ in range(3)] == [0.1, 0.2, 0.3]
    clock.now += 10
    assert bucket.reserve() == 0.0


def context(provider_store: str = "vault", version: str = "1", es_namespace: str = "default") -> StoreContext:
    store = StoreSpec(
        kind="SecretStore", name=provider_store, namespace="default", controller="", provider_name="vault",
        provider={}, resource_version=version,
    )  # fmt: skip

    def unused(*_: object) -> object:
        raise AssertionError("not used")

    return StoreContext(store, es_namespace, unused, unused, unused, unused, lambda *_: None)  # type: ignore[arg-type]


def test_one_client_per_store_identity_rebuilt_when_the_store_changes() -> None:
    provider = FakeProvider()
    cache = ClientCache(provider.factory)
    first = cache.client(context())
    assert cache.client(context()) is first and provider.logins == 1
    cache.client(context(version="2"))
    assert provider.logins == 2 and provider.closed == 1 and len(cache) == 1
    cache.client(context(es_namespace="team-b"))  # referent auth: per ExternalSecret namespace
    assert provider.logins == 3
    cache.evict_store("SecretStore", "default", "vault")
    assert len(cache) == 0 and provider.closed == 3


def test_client_build_errors_are_not_cached() -> None:
    provider = FakeProvider()
    provider.build_error = ProviderError("vault: login failed", kind="auth")
    cache = ClientCache(provider.factory)
    for _ in range(2):
        with contextlib.suppress(ProviderError):
            cache.client(context())
    provider.build_error = None
    cache.client(context())
    assert provider.logins == 1


def test_calls_wait_for_the_stores_rate_limit() -> None:
    clock = ManualClock()
    waits: list[float] = []
    provider = FakeProvider()
    provider.secrets["k"] = "v"
    cache = ClientCache(provider.factory, rate=2.0, burst=1, sleep=waits.append, clock=clock)
    from gitsecure.controller.external.model import RemoteRef

    client = cache.client(context())
    for _ in range(3):
        client.get_secret(RemoteRef(key="k"))
    assert waits == [0.5, 1.0]
    other = cache.client(context(provider_store="other"))
    other.get_secret(RemoteRef(key="k"))
    assert waits == [0.5, 1.0]  # another store has its own bucket


def test_a_read_the_reconcile_memo_answers_takes_no_token() -> None:
    from gitsecure.controller.external.model import RemoteRef
    from gitsecure.controller.external.providers.base import memo_slot

    clock = ManualClock()
    waits: list[float] = []
    provider = FakeProvider()
    provider.secrets["k"] = '{"a": "1", "b": "2"}'
    provider.secrets["other"] = "x"
    client = ClientCache(provider.factory, rate=2.0, burst=1, sleep=waits.append, clock=clock).client(context())
    memo: dict[str, object] = {}
    client.get_secret(RemoteRef(key="k", property="a"), memo)  # the burst token
    memo[memo_slot(RemoteRef(key="k"))] = b"{}"  # what a provider stores after its read
    client.get_secret(RemoteRef(key="k", property="b"), memo)
    client.get_secret_map(RemoteRef(key="k"), memo)
    assert waits == []
    client.get_secret(RemoteRef(key="other"), memo)
    assert waits == [0.5]
