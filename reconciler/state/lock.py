"""One apply at a time per state directory: an advisory lock that names its holder.

Two applies of one config at once could both see a code missing and both create it. The lock
is `fcntl.flock` on `.accesscodes/apply.lock` (released by the kernel when the holder dies, so
a killed apply never leaves it stuck); the file records who holds it, so a refusal can say so.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from reconciler.core.errors import PlanRefused
from reconciler.state.journal import actor
from reconciler.state.privatefile import private_dir


@contextmanager
def apply_lock(
    directory: Path,
    *,
    wait: float,
    sleep: Callable[[float], None] = time.sleep,
    poll: float = 0.2,
) -> Iterator[None]:
    """Hold the state directory's apply lock, waiting up to `wait` seconds for it."""
    private_dir(directory)  # the state folder holds PINs and keys: 0700
    path = directory / "apply.lock"
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise PlanRefused(
                        f"another apply holds {path} ({_holder(path)}); nothing was applied"
                    ) from None
                sleep(poll)
        os.ftruncate(handle, 0)
        holder = {"pid": os.getpid(), "actor": actor(), "since": datetime.now(UTC).isoformat()}
        os.pwrite(handle, json.dumps(holder).encode(), 0)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def _holder(path: Path) -> str:
    try:
        holder = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "holder unknown"
    return f"pid {holder.get('pid')}, {holder.get('actor')}, since {holder.get('since')}"
