"""Seam's HTTP API as one call: `POST /<route>` with JSON, retries, and our error tree.

Retries cover what may pass (429, 5xx, connection trouble), with exponential backoff and full
jitter, honouring `Retry-After`, bounded in count and in time. Seam's error types map onto
`reconciler.core.errors`, and no httpx type escapes this module. Seam's messages can quote a PIN
("Cannot set duplicate access code 4821 ..."), so every digit run that could be one is masked
(`errors.mask_digits`; the provider also masks the exact PIN it sent).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

try:  # a fast JSON codec (a dependency; the standard library's json works the same, slower)
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]

from reconciler.core.errors import (
    InvalidInputError,
    NotFoundError,
    PermanentProviderError,
    ProviderError,
    TemporaryProviderError,
    mask_digits,
)
from reconciler.providers.pacing import InFlightLimit, RequestPacer
from reconciler.providers.seam_http import make_sender

if TYPE_CHECKING:
    import httpx

PUBLIC_ENDPOINT = "https://connect.getseam.com"
# Requests in flight: twice the configured devices to start with (both listings of each);
# from the default (32 devices) up, grown to this many while the API keeps up (`pacing`).
DEFAULT_DEVICES = 32
GROWN_IN_FLIGHT = 256
_WRITES = ("/create", "/update", "/delete")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try again: `attempts` calls in all, delays doubling from `base_delay` up to
    `max_delay`, and no retry that would end past `deadline` seconds after the first call."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    deadline: float = 60.0

    def delay(self, attempt: int, hint: float | None, rng: Callable[[], float]) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if hint is not None:
            return min(hint, self.max_delay)
        return rng() * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


class RateLimitedError(TemporaryProviderError):
    """HTTP 429: the request was refused before it did anything, so any call (a create too)
    may simply be sent again after the delay."""


class SeamClient:
    """A pooled HTTP client for Seam's API, with retries and mapped errors.

    Rate limits are shared by every caller of one client through its `RequestPacer` (writes
    ease in; after a 429 every request is paced: `reconciler.providers.pacing`). `calls` and
    `throttled` count requests and 429s. Requests in flight start at two per device
    (`max_connections` devices at once, each with its two listings) and, from the default
    of 32 devices up, grow to 256 while the API's latency holds (`InFlightLimit`, halved on a
    429 or 5xx); a smaller `max_connections` is kept as it is.

    Requests go to aiohttp's session directly, with JSON encoded and parsed by orjson: httpx's
    request and response objects around each call cost more CPU than the call itself on a
    large fleet (bench/, README "Performance"). An `http` client passed in, a proxy, or
    ACCESSCODES_HTTP_TRANSPORT=httpx sends through httpx instead (`seam_http`).
    """

    def __init__(
        self,
        *,
        api_key: str,
        endpoint: str = PUBLIC_ENDPOINT,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        max_connections: int = 32,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.rng = rng
        floor = 2 * max_connections
        ceiling = max(floor, GROWN_IN_FLIGHT) if max_connections >= DEFAULT_DEVICES else floor
        self.in_flight = InFlightLimit(floor, ceiling, clock)
        self._sender = make_sender(self.endpoint, timeout=timeout, connections=ceiling, http=http)
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Seam-Client": "accesscodes",
        }
        self.calls = 0
        self.throttled = 0
        self.clock = clock
        self.pacer = RequestPacer(clock)

    async def call(
        self,
        route: str,
        body: dict[str, Any],
        *,
        retry: bool = True,
        device_limited: bool = False,
    ) -> dict[str, Any]:
        """POST `body` to `route`; the parsed response on success, else a mapped error.

        `device_limited`: the caller knows this write exceeds its lock's own limit, so a 429
        is that lock's and leaves the pace of every other request alone.
        """
        started = self.clock()
        attempt = 1
        write = route.endswith(_WRITES)
        while True:
            try:
                await self._paced(write)
                return await self._once(route, body, device_limited=device_limited)
            except TemporaryProviderError as exc:
                if not retry or attempt >= self.retry.attempts:
                    raise
                delay = self.retry.delay(attempt, exc.delay, self.rng)
                if self.clock() - started + delay > self.retry.deadline:
                    raise
                if device_limited or not isinstance(exc, RateLimitedError):
                    await self._sleep(delay)  # (after any other 429 the pacer holds us)
                attempt += 1

    async def _paced(self, write: bool) -> None:
        """Wait for a start slot; a 429 seen meanwhile voids it (the pace has changed)."""
        while True:
            episode = self.pacer.episode
            wait = self.pacer.delay(write=write)
            if wait > 0:
                await self._sleep(wait)
            if self.pacer.episode == episode:
                return

    async def _once(
        self, route: str, body: dict[str, Any], *, device_limited: bool = False
    ) -> dict[str, Any]:
        url = f"{self.endpoint}/{route.lstrip('/')}"
        self.calls += 1
        started = await self.in_flight.acquire()
        overloaded = False  # a 429 (not a lock's own), a 5xx, a timeout: fewer in flight
        answered = False  # no answer, no latency to learn from
        try:
            status, retry_after, data = await self._sender.post(
                route, url, _dumps(body), self._headers
            )
            answered = True
            overloaded = (status == 429 and not device_limited) or status >= 500
        except TemporaryProviderError as exc:
            overloaded = exc.code == "timeout"
            raise
        finally:
            self.in_flight.release(started, overloaded=overloaded, answered=answered)
        if status == 429:
            self.throttled += 1
            if not device_limited:
                self.pacer.throttled(_retry_after(retry_after))
        parsed = _parse(route, status, retry_after, data)
        self.pacer.succeeded()
        return parsed

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._sender.aclose()


def _dumps(body: dict[str, Any]) -> bytes:
    if orjson is not None:
        return orjson.dumps(body)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data) if orjson is not None else json.loads(data)
    except ValueError:
        return None


def _parse(route: str, status: int, retry_after: str | None, raw: bytes) -> dict[str, Any]:
    data = _loads(raw) if raw else None
    if 200 <= status < 300 and isinstance(data, dict):
        return data
    error = (data or {}).get("error") if isinstance(data, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    message = mask_digits(str(error.get("message", ""))) if isinstance(error, dict) else ""
    text = f"Seam {route}: HTTP {status}" + (f": {message}" if message else "")
    if kind:
        text += f" ({kind})"
    if status == 429:
        raise RateLimitedError(text, code=kind or "http_429", delay=_retry_after(retry_after))
    if status >= 500:
        raise TemporaryProviderError(
            text, code=kind or f"http_{status}", delay=_retry_after(retry_after)
        )
    if status == 404:
        raise NotFoundError(text, code=kind or "not_found")
    if status in (400, 409, 422):
        raise InvalidInputError(text, code=kind or "invalid_input")
    if status in (401, 403):
        raise PermanentProviderError(
            f"Seam refused the API key (HTTP {status}): check SEAM_API_KEY",
            code=kind or "unauthorized",
        )
    if 200 <= status < 300:
        raise ProviderError(f"Seam {route}: the response is not JSON", code="bad_response")
    raise PermanentProviderError(text, code=kind or f"http_{status}")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # (seldom: Seam sends seconds)

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
