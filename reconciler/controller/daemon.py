"""`accesscodes controller`: the controller with its endpoints, file watcher and signals.

SIGTERM lets the run in flight finish and exits 0; SIGHUP runs again at once; a change to any
YAML file of the config (watchfiles) runs again without a restart. Nothing else ends the loop
(a failed run is backed off by the controller); on the way out the endpoints stop and the
provider is closed. The endpoints (aiohttp) are imported only when `--listen` asks for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from watchfiles import Change, awatch

from reconciler.controller.loop import Controller, ProviderFactory, default_provider_factory

if TYPE_CHECKING:
    from aiohttp import web


def _is_config_change(change: Change, path: str) -> bool:
    return path.endswith((".yaml", ".yml")) and "/.accesscodes/" not in path


async def watch_config(controller: Controller, path: Path, stop: asyncio.Event) -> None:
    """Wake the controller when a config file changes."""
    folder = path if path.is_dir() else path.parent
    async for _ in awatch(
        folder, watch_filter=_is_config_change, stop_event=stop, debounce=200, rust_timeout=500
    ):
        controller.emit("config_changed")
        controller.poke()


async def run_controller(
    config_path: Path,
    *,
    interval: float,
    listen: tuple[str, int] | None,
    once: bool,
    provider_factory: ProviderFactory = default_provider_factory,
) -> int:
    """Run until SIGTERM (or one run with `once`); 0 on a clean stop."""
    controller = Controller(config_path, interval=interval, provider_factory=provider_factory)
    loop = asyncio.get_running_loop()
    for sig, action in (
        (signal.SIGTERM, controller.stop),
        (signal.SIGINT, controller.stop),
        (signal.SIGHUP, controller.poke),
    ):
        loop.add_signal_handler(sig, action)
    runner = await _listen(controller, listen) if listen is not None else None
    try:
        async with _watching(controller, config_path, enabled=not once):
            await controller.run(once=once)
    finally:
        if runner is not None:
            await runner.cleanup()
        await controller.aclose()
        controller.emit("stopped")
    return 1 if once and not controller.metrics.last_ok else 0


async def _listen(controller: Controller, listen: tuple[str, int]) -> web.AppRunner:
    """Serve the endpoints (aiohttp imported only now)."""
    from reconciler.controller.endpoints import make_app, start

    runner = await start(make_app(controller), *listen)
    controller.emit("listening", address=f"{listen[0]}:{listen[1]}")
    return runner


@contextlib.asynccontextmanager
async def _watching(
    controller: Controller, config_path: Path, *, enabled: bool
) -> AsyncIterator[None]:
    """Watch the config while the block runs (one run with `--once` watches nothing)."""
    if not enabled:
        yield
        return
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_config(controller, config_path, stop))
    try:
        yield
    finally:
        stop.set()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
