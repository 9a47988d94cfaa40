"""Fetching a reservation feed: a URL over HTTP (httpx), or a file beside the config.

Calendar exports are slow, flaky and large on busy listings, so a fetch has a timeout and a
size limit, and asks with the last ETag / Last-Modified (`If-None-Match`,
`If-Modified-Since`) so an unchanged calendar costs a 304. Whatever goes wrong becomes a
`FeedUnavailable` whose reason never holds the URL: the URL's token is a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.core.errors import mask_url

if TYPE_CHECKING:  # httpx is imported when a feed is fetched: a sim plan does without it
    import httpx


class FeedUnavailable(Exception):
    """The feed gave no usable answer this time; `reason` is safe to print."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Fetched:
    """A feed's answer: its body, or None when it answered 304 (unchanged since `etag`)."""

    body: bytes | None = field(repr=False)
    etag: str | None = None
    last_modified: str | None = None


def is_url(location: str) -> bool:
    """Whether a source's `ical` is fetched over HTTP (else it is a file)."""
    return location.startswith(("https://", "http://"))


async def fetch_feed(
    location: str,
    *,
    base_dir: Path,
    client: httpx.AsyncClient,
    etag: str | None,
    last_modified: str | None,
    timeout: float,
    max_bytes: int,
) -> Fetched:
    """The feed's current answer (see the module docstring); raises `FeedUnavailable`."""
    import httpx

    if not is_url(location):
        return _read_file(base_dir / location, max_bytes)
    headers = {"Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with client.stream("GET", location, headers=headers, timeout=timeout) as answer:
            if answer.status_code == 304:
                return Fetched(None, etag, last_modified)
            if answer.status_code != 200:
                raise FeedUnavailable(f"HTTP {answer.status_code} from {mask_url(location)}")
            body = await _read_limited(answer, max_bytes)
            return Fetched(body, answer.headers.get("etag"), answer.headers.get("last-modified"))
    except httpx.TimeoutException:
        raise FeedUnavailable(f"no answer within {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise FeedUnavailable(f"{type(exc).__name__} reaching {mask_url(location)}") from None


async def _read_limited(answer: httpx.Response, max_bytes: int) -> bytes:
    chunks, size = [], 0
    async for chunk in answer.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FeedUnavailable(f"the answer is larger than {max_bytes} bytes (max_bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def _read_file(path: Path, max_bytes: int) -> Fetched:
    try:
        if path.stat().st_size > max_bytes:
            raise FeedUnavailable(f"{path.name} is larger than {max_bytes} bytes (max_bytes)")
        return Fetched(path.read_bytes())
    except OSError as exc:
        raise FeedUnavailable(f"cannot read {path.name}: {exc.strerror or exc}") from None
