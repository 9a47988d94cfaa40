"""Requests in flight (`pacing.InFlightLimit`): from the configured concurrency up while the
API answers as fast as it did at its best, halved on a 429 or a 5xx, never below the start;
and the Seam client's bounds (a setting under the default is kept as it is)."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.providers.pacing import InFlightLimit
from reconciler.providers.seam_client import SeamClient


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def answer_all(limit: InFlightLimit, clock: Clock, latency: float, rounds: int) -> None:
    """`rounds` round trips, each sending as many requests as the limit allows at once."""

    async def run() -> None:
        for _ in range(rounds):
            started = [await limit.acquire() for _ in range(int(limit.limit))]
            clock.now += latency
            for moment in started:
                limit.release(moment)

    asyncio.run(run())


def test_the_limit_doubles_each_round_trip_while_latency_holds() -> None:
    clock = Clock()
    limit = InFlightLimit(64, 256, clock)
    answer_all(limit, clock, 0.1, 1)
    assert limit.limit == 128
    answer_all(limit, clock, 0.1, 2)
    assert limit.limit == 256  # the ceiling


def test_no_growth_when_the_api_slows_down() -> None:
    clock = Clock()
    limit = InFlightLimit(64, 256, clock)
    answer_all(limit, clock, 0.1, 1)
    grown = limit.limit
    answer_all(limit, clock, 0.5, 3)  # five times slower than the best seen
    assert limit.limit < grown * 2


def test_a_429_or_5xx_halves_it_once_a_second_never_below_the_start() -> None:
    clock = Clock()
    limit = InFlightLimit(64, 256, clock)
    answer_all(limit, clock, 0.1, 2)
    assert limit.limit == 256

    async def overloaded(count: int) -> None:
        for _ in range(count):
            limit.release(await limit.acquire(), overloaded=True)

    asyncio.run(overloaded(5))  # one burst: one cut
    assert limit.limit == 128
    assert not limit.slow_start
    clock.now += 1.5
    asyncio.run(overloaded(1))
    clock.now += 1.5
    asyncio.run(overloaded(1))
    assert limit.limit == 64  # the floor


def test_waiters_start_in_order_as_slots_free_up() -> None:
    clock = Clock()
    limit = InFlightLimit(2, 2, clock)
    order: list[int] = []

    async def one(index: int) -> None:
        started = await limit.acquire()
        order.append(index)
        await asyncio.sleep(0)
        limit.release(started)

    async def run() -> None:
        await asyncio.gather(*(one(i) for i in range(6)))

    asyncio.run(run())
    assert order == list(range(6))
    assert limit.in_flight == 0


@pytest.mark.parametrize(
    ("devices", "floor", "ceiling"), [(32, 64, 256), (8, 16, 16), (200, 400, 400)]
)
def test_the_clients_bounds(devices: int, floor: int, ceiling: int) -> None:
    client = SeamClient(api_key="k", endpoint="http://127.0.0.1:9", max_connections=devices)
    try:
        assert (client.in_flight.floor, client.in_flight.ceiling) == (floor, ceiling)
    finally:
        asyncio.run(client.aclose())


def test_a_refused_connection_is_no_latency_and_the_limit_still_grows_after_it() -> None:
    clock = Clock()
    limit = InFlightLimit(64, 256, clock)

    async def refused() -> None:
        started = await limit.acquire()
        clock.now += 0.0005  # refused at once: no answer, and no measure of the API
        limit.release(started, answered=False)

    asyncio.run(refused())
    answer_all(limit, clock, 0.1, 2)
    assert limit.limit == 256
