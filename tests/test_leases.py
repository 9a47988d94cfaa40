"""Leases on a real PostgreSQL, in-process: how two replicas share devices, on the database's
clock, and what a replica that is not healthy does with what it holds."""

from __future__ import annotations

import time

import pytest

from reconciler.controller.replicas import Replica
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
