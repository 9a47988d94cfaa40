"""Leases on a real PostgreSQL, in-process: how two replicas share devices, on the database's
clock, and what a replica that is not healthy does with what it holds."""

from __future__ import annotations

import asyncio
import time

import pytest

from reconciler.controller.fencing import FencedProvider
from reconciler.controller.ownership import Ownership
from reconciler.controller.replicas import Replica
from reconciler.core.errors import LeaseLost
from reconciler.core.models import AccessCodeId, DeviceId, LiveCode
from reconciler.state.leases import LeaseTable
from reconciler.state.postgres import PostgresDatabase

DEVICES = [f"lock_{i}" for i in range(6)]


@pytest.fixture
def tables(pg_url: str) -> tuple[LeaseTable, LeaseTable]:
    database = PostgresDatabase(pg_url)
    database.execute("SELECT 1")  # opens the pool: the schema is migrated
    first, second = LeaseTable(database, "a", 0.6), LeaseTable(database, "b", 0.6)
    first.ensure(DEVICES)
    return first, second


def test_two_replicas_never_take_the_same_device(tables: tuple[LeaseTable, LeaseTable]) -> None:
    a, b = tables
    mine, theirs = a.acquire(DEVICES, 4), b.acquire(DEVICES, 4)
    assert len(mine) == 4 and len(theirs) == 2 and not set(mine) & set(theirs)
    assert a.renew(mine) == mine and b.renew(mine) == {}  # only the holder renews


def test_an_expired_lease_is_taken_over_with_a_new_term_and_the_old_holder_is_fenced(
    tables: tuple[LeaseTable, LeaseTable],
) -> None:
    a, b = tables
    mine = a.acquire(DEVICES, 6)
    assert all(a.holds(d, t, margin=0.0) for d, t in mine.items())
    assert b.acquire(DEVICES, 6) == {}  # not while a's leases run
    time.sleep(0.7)  # past the lease, on the database's clock
    assert a.renew(mine) == {}  # expired: lost, even though nobody took it yet
    theirs = b.acquire(DEVICES, 6)
    assert set(theirs) == set(DEVICES) and all(theirs[d] == mine[d] + 1 for d in DEVICES)
    assert not any(a.holds(d, t, margin=0.0) for d, t in mine.items())


def test_a_lease_with_less_than_the_margin_left_does_not_pass_the_check(
    tables: tuple[LeaseTable, LeaseTable],
) -> None:
    a, _ = tables
    mine = a.acquire(DEVICES[:1], 1)
    ((device, term),) = mine.items()
    assert a.holds(device, term, margin=0.1)
    assert not a.holds(device, term, margin=1.0)  # a write might outlive it


def test_a_replica_whose_loop_stopped_beating_lets_its_leases_go(pg_url: str) -> None:
    said: list[tuple[str, dict[str, object]]] = []
    replica = Replica(
        pg_url, devices=lambda: DEVICES, emit=lambda e, **f: said.append((e, f)), lease=2.0
    )
    replica.tick()
    assert replica.devices() == set(DEVICES)
    replica._beat -= 5  # its event loop has not said it is alive for longer than half a lease
    replica.tick()
    assert replica.devices() == frozenset()
    assert ("replica_unhealthy", {"replica": replica.replica_id, "devices": DEVICES}) in said
    other = LeaseTable(PostgresDatabase(pg_url), "other", 2.0)
    assert set(other.acquire(DEVICES, 6)) == set(DEVICES)  # handed back, not left to expire


class _SlowLock:
    """A provider whose write waits (as a write paced after a 429 does) until released."""

    kind = "sim"

    def __init__(self) -> None:
        self.sent = False
        self.go = asyncio.Event()

    async def delete_code(self, code: object) -> None:
        await self.go.wait()
        self.sent = True


class _Holder:
    """A replica as the fence sees it: its ownership, and a database that vouches for it."""

    def __init__(self, ownership: Ownership) -> None:
        self.ownership = ownership

    def check_write(self, device_id: str, term: int) -> bool:
        return True


def test_a_write_still_waiting_when_its_lease_runs_out_is_stopped_and_not_sent() -> None:
    now = [0.0]
    ownership = Ownership(clock=lambda: now[0])
    ownership.hold({"lock_0": 1}, valid_until=0.3)
    lock = _SlowLock()
    fenced = FencedProvider(lock, _Holder(ownership))  # type: ignore[arg-type]
    code = LiveCode(
        access_code_id=AccessCodeId("c1"), device_id=DeviceId("lock_0"), name="Bob", code=None
    )

    async def scenario() -> None:
        async def run_out() -> None:
            await asyncio.sleep(0.1)
            now[0] = 1.0  # the lease's time is over, and no renewal came
            await asyncio.sleep(0.5)
            lock.go.set()  # the pace would let it go now: too late

        timer = asyncio.create_task(run_out())
        with pytest.raises(LeaseLost, match="ran out while the write waited"):
            await fenced.delete_code(code)
        await timer

    asyncio.run(scenario())
    assert not lock.sent
