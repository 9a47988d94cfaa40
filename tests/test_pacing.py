"""The request pacer: reads free until a 429, writes eased in, then one learned pace for all."""

from __future__ import annotations

import pytest

from reconciler.providers.pacing import WRITE_START, RequestPacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_reads_are_not_held_back_before_the_api_pushes_back(clock: Clock) -> None:
    pacer = RequestPacer(clock)
    assert [pacer.delay(write=False) for _ in range(500)] == [0.0] * 500


def test_writes_ease_in_at_the_starting_pace(clock: Clock) -> None:
    pacer = RequestPacer(clock)
    waits = [pacer.delay(write=True) for _ in range(4)]
    assert waits == pytest.approx([0, 1 / WRITE_START, 2 / WRITE_START, 3 / WRITE_START])


def test_writes_speed_up_only_while_the_pace_holds_them_back(clock: Clock) -> None:
    busy, idle = RequestPacer(clock), RequestPacer(clock)
    for _ in range(30):  # three seconds: 50 writes a second wanted, a handful for `idle`
        for _ in range(5):
            busy.delay(write=True)
        if clock.now % 1 == 0:
            idle.delay(write=True)
        clock.now += 0.1
    assert busy.write_rate is not None and busy.write_rate > WRITE_START
    assert idle.write_rate == WRITE_START


def test_a_429_holds_every_request_until_retry_after_then_paces_all(clock: Clock) -> None:
    pacer = RequestPacer(clock)
    for _ in range(100):  # 100 reads sent and answered in the last second
        pacer.delay(write=False)
        pacer.succeeded()
    clock.now += 0.5
    pacer.throttled(2.0)
    assert pacer.rate == pytest.approx(60.0)  # min(60% of 100 sent, 85% of 100 through)
    first, second = pacer.delay(write=False), pacer.delay(write=False)
    assert first == pytest.approx(2.0)
    assert second == pytest.approx(2.0 + 1 / 60)


def test_the_pace_follows_what_the_api_let_through(clock: Clock) -> None:
    pacer = RequestPacer(clock)
    for index in range(200):
        pacer.delay(write=False)
        if index < 40:
            pacer.succeeded()
    pacer.throttled(None)
    assert pacer.rate == pytest.approx(34.0)  # 85% of the 40 that got through


def test_one_cut_per_episode_and_a_quarter_off_for_the_next(clock: Clock) -> None:
    pacer = RequestPacer(clock)
    for _ in range(100):
        pacer.delay(write=False)
        pacer.succeeded()
    pacer.throttled(1.0)
    episode, rate = pacer.episode, pacer.rate
    pacer.throttled(1.0)  # another answer from the same burst
    assert (pacer.episode, pacer.rate) == (episode, rate)
    clock.now += 5.0
    pacer.throttled(1.0)
    assert pacer.episode == episode + 1
    assert pacer.rate == pytest.approx(rate * 0.75)


def test_a_429_voids_slots_taken_before_it(clock: Clock) -> None:
    pacer = RequestPacer(clock)
    for _ in range(10):
        pacer.delay(write=True)  # slots booked up to 0.3 s ahead
        pacer.succeeded()
    pacer.throttled(1.0)
    # A request that wakes for its old slot sees a new episode and asks again: after the pause.
    assert pacer.delay(write=True) == pytest.approx(1.0)
