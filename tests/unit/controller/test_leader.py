"""Leader election on a Lease over real HTTP against the emulated API server.

Lease expiry is driven by injected clocks (never by waiting for a lease
duration); renewal deadlines are short real times, and no assertion depends
on how long anything took.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitsecure.controller.kubeapi import Backoff, KubeApi
from gitsecure.controller.leader import LeaderElector, micro_time
from gitsecure.errors import UsageError
from tests.support.kube.cluster import KubeCluster

pytestmark = pytest.mark.timeout(60)

NS, LEASE = "kube-system", "gitsecure-controller"
T0 = dt.datetime(2026, 11, 22, 12, 0, 0, 123456, tzinfo=dt.UTC)
MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class Clock:
    """A settable clock for lease timestamps and expiry."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def cluster() -> Iterator[KubeCluster]:
    with KubeCluster() as running:
        yield running


@pytest.fixture
def api(cluster: KubeCluster, tmp_path: Path) -> Iterator[KubeApi]:
    path = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    kube = KubeApi.from_config(
        str(path), service_account_dir=str(tmp_path / "no-sa"), backoff=Backoff(initial=0.001, cap=0.005), timeout=10
    )
    yield kube
    kube.close()


def elector(api: KubeApi, identity: str, clock: Clock | None = None, **timing: float) -> LeaderElector:
    seconds = {"lease_duration": 15.0, "renew_deadline": 10.0, "retry_period": 2.0, **timing}
    return LeaderElector(
        api,
        namespace=NS,
        name=LEASE,
        identity=identity,
        lease_duration=dt.timedelta(seconds=seconds["lease_duration"]),
        renew_deadline=dt.timedelta(seconds=seconds["renew_deadline"]),
        retry_period=dt.timedelta(seconds=seconds["retry_period"]),
        **({"clock": clock} if clock is not None else {}),
    )


def spec_of(api: KubeApi) -> dict[str, object]:
    lease = api.get_lease(NS, LEASE)
    assert lease is not None
    return dict(lease["spec"])


def test_lease_fields_as_client_go_writes_them(api: KubeApi) -> None:
    clock = Clock()
    leader = elector(api, "a", clock)
    assert leader.try_acquire_or_renew()
    assert leader.is_leader
    lease = api.get_lease(NS, LEASE)
    assert lease is not None
    assert (lease["apiVersion"], lease["kind"]) == ("coordination.k8s.io/v1", "Lease")
    assert lease["spec"] == {
        "holderIdentity": "a",
        "leaseDurationSeconds": 15,
        "acquireTime": "2026-11-22T12:00:00.123456Z",
        "renewTime": "2026-11-22T12:00:00.123456Z",
        "leaseTransitions": 0,
    }
    assert MICRO.match(micro_time(dt.datetime.now(dt.UTC)))
    version = lease["metadata"]["resourceVersion"]
    clock.advance(2)
    assert leader.try_acquire_or_renew()
    renewed = api.get_lease(NS, LEASE)
    assert renewed is not None
    assert renewed["metadata"]["resourceVersion"] != version
    assert renewed["spec"]["renewTime"] == "2026-11-22T12:00:02.123456Z"
    assert renewed["spec"]["acquireTime"] == "2026-11-22T12:00:00.123456Z"  # kept while the same leader renews
    assert renewed["spec"]["leaseTransitions"] == 0


def test_a_held_lease_is_followed_until_it_expires_then_taken_over(api: KubeApi) -> None:
    first, second = Clock(), Clock()
    a, b = elector(api, "a", first), elector(api, "b", second)
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert (b.is_leader, b.holder) == (False, "a")
    second.advance(14)  # b's clock: 14 s after it first saw the record, the lease is still valid
    assert not b.try_acquire_or_renew()
    second.advance(2)
    assert b.try_acquire_or_renew()
    spec = spec_of(api)
    assert spec["holderIdentity"] == "b"
    assert spec["leaseTransitions"] == 1
    assert spec["acquireTime"] == spec["renewTime"] == micro_time(second.now)
    # a's next renewal carries the resourceVersion it wrote last: 409, then it reads b's lease and follows.
    first.advance(2)
    assert not a.try_acquire_or_renew()
    assert (a.is_leader, a.holder) == (False, "b")
    assert spec_of(api)["holderIdentity"] == "b"


def test_two_candidates_exactly_one_leads_then_the_other_takes_over_on_release(api: KubeApi) -> None:
    async def scenario() -> None:
        a = elector(api, "a", lease_duration=15, renew_deadline=1, retry_period=0.05)
        b = elector(api, "b", lease_duration=15, renew_deadline=1, retry_period=0.05)
        stop_a, stop_b = asyncio.Event(), asyncio.Event()
        tasks = {asyncio.create_task(a.acquire(stop_a)): a, asyncio.create_task(b.acquire(stop_b)): b}
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        (won,) = done
        assert won.result() is True
        winner = tasks[won]
        (waiting,) = pending
        loser = tasks[waiting]
        # The loser keeps following for some rounds and never takes a lease that is held and valid.
        for _ in range(5):
            assert not await asyncio.to_thread(loser.try_acquire_or_renew)
        assert winner.is_leader and not loser.is_leader
        assert spec_of(api)["holderIdentity"] == winner.identity

        winner_stop = stop_a if winner is a else stop_b
        hold = asyncio.create_task(winner.hold(winner_stop))
        winner_stop.set()
        await hold
        await asyncio.to_thread(winner.release)
        released = spec_of(api)
        assert released["holderIdentity"] == ""
        assert released["leaseDurationSeconds"] == 1
        assert released["leaseTransitions"] == 0
        assert await waiting is True  # a released lease is free at once, without waiting for it to expire
        assert loser.is_leader and not winner.is_leader
        taken = spec_of(api)
        assert taken["holderIdentity"] == loser.identity
        assert taken["leaseTransitions"] == 1

    asyncio.run(scenario())


def test_hold_returns_on_stop_while_still_leading(api: KubeApi) -> None:
    async def scenario() -> None:
        leader = elector(api, "a", lease_duration=15, renew_deadline=1, retry_period=0.05)
        stop = asyncio.Event()
        assert await leader.acquire(stop)
        hold = asyncio.create_task(leader.hold(stop))
        await asyncio.sleep(0.2)  # a few renewals
        stop.set()
        await hold
        assert leader.is_leader
        assert spec_of(api)["holderIdentity"] == "a"

    asyncio.run(scenario())


def test_a_leader_that_cannot_renew_reports_lost(api: KubeApi, cluster: KubeCluster) -> None:
    async def scenario() -> None:
        leader = elector(api, "a", lease_duration=15, renew_deadline=0.5, retry_period=0.05)
        stop = asyncio.Event()
        assert await leader.acquire(stop)
        cluster.fail_next("PUT", "leases", 500, count=1000)
        await leader.hold(stop)  # returns by itself: no stop was asked for
        assert not stop.is_set()
        assert not leader.is_leader
        assert spec_of(api)["holderIdentity"] == "a"  # nothing was written; the lease will expire

    asyncio.run(scenario())


def test_a_leader_that_sees_another_holder_reports_lost(api: KubeApi) -> None:
    async def scenario() -> None:
        clock_b = Clock()
        a = elector(api, "a", lease_duration=15, renew_deadline=1, retry_period=0.05)
        b = elector(api, "b", clock_b)
        stop = asyncio.Event()
        assert await a.acquire(stop)
        assert not b.try_acquire_or_renew()
        clock_b.advance(3600)  # b believes a's lease expired (a paused process, a clock jump)
        assert b.try_acquire_or_renew()
        await a.hold(stop)
        assert not stop.is_set()
        assert (a.is_leader, a.holder) == (False, "b")

    asyncio.run(scenario())


def test_release_by_a_follower_writes_nothing(api: KubeApi) -> None:
    a, b = elector(api, "a"), elector(api, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    before = api.get_lease(NS, LEASE)
    b.release()
    assert api.get_lease(NS, LEASE) == before


def test_released_elector_does_not_renew(api: KubeApi) -> None:
    a = elector(api, "a")
    assert a.try_acquire_or_renew()
    a.release()
    assert not a.try_acquire_or_renew()  # a renewal still in flight at shutdown must not take the lease back
    assert spec_of(api)["holderIdentity"] == ""


@pytest.mark.parametrize(
    "timing",
    [
        {"lease_duration": 10, "renew_deadline": 10, "retry_period": 2},
        {"lease_duration": 15, "renew_deadline": 2, "retry_period": 2},
        {"lease_duration": 15, "renew_deadline": 10, "retry_period": 0},
    ],
)
def test_timing_is_validated_as_client_go_does(api: KubeApi, timing: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        elector(api, "a", **timing)
