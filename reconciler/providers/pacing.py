"""How fast to send requests to an API whose rate limit we learn only from its 429s.

Reads go out as fast as the concurrency allows until the API first answers 429: a plan of
thousands of locks must not crawl for a limit it may never meet. Writes ease in (slow start)
because dozens of them in flight overshoot any limit by the number in flight: each is one more
429. After a 429 everything is paced: no request starts before its `Retry-After` has passed (no
thundering herd), the pace drops to 60% of what we were sending (and to 85% of what the API
let through), a further 429 slows it by a quarter, and each busy second without one adds 3%
(additive increase, multiplicative decrease, as TCP does). The clock is injected for tests.

How many requests are in flight at once is learnt the same way (`InFlightLimit`): from the
configured concurrency up, doubling each round trip while the API's latency holds (slow
start), then one more per round trip; a 429 or a 5xx halves it, once a second at most, never
below where it started. A server that keeps up gets 256 requests at once (a 10,000-lock plan
at 100 ms: 8 s of waiting instead of 31 s at 64); one that slows down, or pushes back, does not.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

WRITE_START = 30.0  # writes per second before the API has said anything about its limit
WRITE_GROWTH = 1.25  # per busy second, until the first 429
PACED_GROWTH = 1.03  # per busy second without a 429, once paced
BACKOFF = 0.75  # a 429 while paced
FIRST_CUT = 0.6  # the first 429: this share of what we were sending...
THROUGH = 0.85  # ...and no more than this share of what the API let through
MIN_SAMPLE = 5  # successes in the last second needed to estimate the limit from
MAX_PAUSE = 20.0
HOLDS = 1.5  # latency holds while its recent mean is within 1.5x the best seen...
SLACK = 0.005  # ...plus 5 ms (loopback answers in a fraction of one: scheduling is not load)
SMOOTHING = 0.1  # weight of each answer in the recent mean
CUT = 0.5  # a 429 or a 5xx: half the requests in flight...
CUT_EVERY = 1.0  # ...once per second at most (one cut per burst of failures)


class RequestPacer:
    """Decides when each request may start; shared by every caller of one API client."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """`clock` is monotonic seconds; tests pass their own."""
        self.clock = clock
        self.rate: float | None = None  # requests/s for all requests; None: no 429 seen yet
        self.episode = 0  # counts 429 episodes: a slot taken before one must be taken again
        self.write_rate: float | None = WRITE_START  # slow start, until the first 429
        self._next = 0.0  # earliest start of the next paced request
        self._resume_at = 0.0  # nothing starts before this (a Retry-After)
        self._calm_at = 0.0  # end of the current 429 episode: one cut per episode
        self._grown_at = clock()
        self._busy_at = -1.0  # last time a request had to wait for the pace
        self._started: deque[float] = deque(maxlen=16384)
        self._ok: deque[float] = deque(maxlen=16384)

    def delay(self, *, write: bool) -> float:
        """Seconds until this request may start; its slot is taken now."""
        now = self.clock()
        self._grow(now)
        rate = self.rate if self.rate is not None else (self.write_rate if write else None)
        start = max(now, self._resume_at)
        if rate:
            start = max(start, self._next)
            self._next = start + 1.0 / rate
        if start > now:
            self._busy_at = now
        self._started.append(start)
        return start - now

    def succeeded(self) -> None:
        """A request got through: what the API lets through tells its limit."""
        self._ok.append(self.clock())

    def throttled(self, retry_after: float | None) -> None:
        """A 429: hold everything for `retry_after` and slow down, once per episode."""
        now = self.clock()
        pause = min(retry_after if retry_after is not None else 1.0, MAX_PAUSE)
        self._resume_at = max(self._resume_at, now + pause)
        if now < self._calm_at:
            return
        self.episode += 1
        self._next = self._resume_at
        self._calm_at = now + pause + 1.0
        self._grown_at = self._calm_at
        if self.rate is not None:
            self.rate = max(1.0, self.rate * BACKOFF)
            return
        sent = _within(self._started, now - 1.0, now)
        through = _within(self._ok, now - 1.0, now)
        if through < MIN_SAMPLE:
            return  # too little seen to tell the limit: pause only, judge at the next 429
        self.rate = min(FIRST_CUT * sent, THROUGH * through)
        self.write_rate = None

    def _grow(self, now: float) -> None:
        steps = int(now - self._grown_at)
        if steps <= 0:
            return
        self._grown_at += steps
        if now - self._busy_at > 1.0:
            return  # the pace was not what held requests back: no reason to raise it
        if self.rate is not None:
            self.rate *= PACED_GROWTH**steps
        elif self.write_rate is not None:
            self.write_rate *= WRITE_GROWTH**steps


def _within(moments: deque[float], start: float, end: float) -> int:
    return sum(1 for t in moments if start < t <= end)


class InFlightLimit:
    """How many requests may be in flight: from `floor` up to `ceiling`, grown while the API
    answers as fast as it did at its best, halved on a 429 or a 5xx (see the module). Shared
    by every request of one client; `acquire` before sending, `release` with the outcome."""

    def __init__(self, floor: int, ceiling: int, clock: Callable[[], float] = time.monotonic):
        self.floor = max(1, floor)
        self.ceiling = max(self.floor, ceiling)
        self.limit = float(self.floor)
        self.in_flight = 0
        self.clock = clock
        self.slow_start = True  # doubling per round trip, until the first cut
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._best = math.inf
        self._recent: float | None = None
        self._cut_at = -math.inf
        self._full_at = -math.inf  # when every slot was last taken

    async def acquire(self) -> float:
        """Wait for a slot; the moment it was taken (the request's latency starts there)."""
        if self.in_flight < int(self.limit) and not self._waiters:
            self.in_flight += 1
            now = self.clock()
            if self.in_flight >= int(self.limit):
                self._full_at = now
            return now
        self._full_at = self.clock()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # woken, then cancelled: hand it on
                self.in_flight -= 1
                self._wake()
            raise
        return self.clock()

    def release(self, started: float, *, overloaded: bool = False, answered: bool = True) -> None:
        """A request is over: `overloaded` (a 429, a 5xx, a timeout) cuts the limit; an answer
        grows it while the latency holds and the limit was what held requests back (every
        slot taken within the last two round trips). A request with no answer (a refused
        connection, a cancelled call) only frees its slot: its time is no latency."""
        self.in_flight -= 1
        if overloaded:
            self._cut()
        elif answered:
            self._answered(self.clock(), started)
        self._wake()

    def _answered(self, now: float, started: float) -> None:
        latency = now - started
        self._best = min(self._best, latency)
        recent = self._recent
        self._recent = latency if recent is None else recent + SMOOTHING * (latency - recent)
        if now - self._full_at > 2 * max(latency, self._recent) + SLACK:
            return  # the limit held nothing back: no reason to raise it
        if self.limit >= self.ceiling:
            return
        if self._recent > HOLDS * self._best + SLACK:
            return  # slower than it was: more at once would only queue at the API
        step = 1.0 if self.slow_start else 1.0 / self.limit
        self.limit = min(float(self.ceiling), self.limit + step)

    def _cut(self) -> None:
        now = self.clock()
        if now - self._cut_at < CUT_EVERY:
            return
        self._cut_at = now
        self._best = math.inf  # learnt again from the answers after the cut
        self.slow_start = False
        self.limit = max(float(self.floor), self.limit * CUT)

    def _wake(self) -> None:
        while self._waiters and self.in_flight < int(self.limit):
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)
