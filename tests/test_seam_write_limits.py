"""Seam's per-lock write limits against the bench server over real HTTP: writes wait for their
lock's window, and with `pace_writes: after_429` the one 429 a lock draws does not slow the
requests to every other lock."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.fleet import PINS, server_fleet  # noqa: E402
from bench.run import API_KEY, Server  # noqa: E402
from reconciler.core.models import CodeSpec, DeviceId  # noqa: E402
from reconciler.providers.seam import SeamProvider  # noqa: E402
from reconciler.providers.seam_client import SeamClient  # noqa: E402

WINDOW = 2.0  # seconds standing in for Seam's minute: 10 creates per lock per window


@pytest.fixture
def server() -> Iterator[Server]:
    bench = Server()
    bench.admin("reset", server_fleet(2, 0))
    bench.admin("configure", {"latency": 0.01, "rate": 0, "write_window": WINDOW})
    yield bench
    bench.close()


def create_on_two_locks(server: Server, *, pace_writes: bool) -> tuple[float, SeamClient]:
    """12 creates on a busy lock and 5 on a quiet one, all at once; seconds and the client."""

    async def main() -> tuple[float, SeamClient]:
        client = SeamClient(api_key=API_KEY, endpoint=server.url)
        provider = SeamProvider(client, pace_writes=pace_writes)
        provider.write_window = WINDOW
        busy, quiet = DeviceId("lock_00000"), DeviceId("lock_00001")
        started = time.monotonic()
        try:
            await asyncio.gather(
                *(provider.create_code(busy, CodeSpec(f"B{j}", PINS[j])) for j in range(12)),
                *(provider.create_code(quiet, CodeSpec(f"Q{j}", PINS[j])) for j in range(5)),
            )
        finally:
            await client.aclose()
        return time.monotonic() - started, client

    return asyncio.run(main())


def test_writes_keep_to_each_locks_limit_without_a_429(server: Server) -> None:
    elapsed, client = create_on_two_locks(server, pace_writes=True)
    stats = server.admin("clear")
    assert stats["codes"] == 17
    assert elapsed >= WINDOW  # the busy lock's last two creates waited for its window
    assert stats["status"].get("429", 0) == 0
    assert client.pacer.rate is None


def test_after_429_a_lock_over_its_limit_waits_alone(server: Server) -> None:
    elapsed, client = create_on_two_locks(server, pace_writes=False)
    stats = server.admin("clear")
    assert stats["codes"] == 17
    assert elapsed >= WINDOW
    assert stats["limited"].get("global", 0) == 0
    assert 1 <= stats["limited"].get("device", 0) <= 2  # the first over the limit, then paced
    assert client.pacer.rate is None, "a lock's own limit must not pace the whole client"
