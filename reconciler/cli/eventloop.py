"""The event loop of the one-shot commands: uvloop's where it is installed, else asyncio's.

A plan of a large fleet is thousands of requests whose CPU is largely the event loop's own
(callbacks, transports, selector wake-ups): libuv's loop spends 10-15% less per request than
asyncio's (bench/, README "Performance"). The controller keeps asyncio's loop: it serves
HTTP, handles signals and watches files for days, where the standard loop is the known one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, on uvloop's loop when uvloop imports (not on Windows)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a dependency wherever uvloop builds
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
