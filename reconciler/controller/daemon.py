"""`accesscodes controller`: the controller with its endpoints, file watcher and signals.

SIGTERM lets the run in flight finish and exits 0; SIGHUP runs again at once; a change to any
YAML file of the config (watchfiles) runs again without a restart. Nothing else ends the loop
(a failed run is backed off by the controller); on the way out the endpoints stop and the
provider is closed. The endpoints (aiohttp) are imported only when `--listen` asks for them.

Events (`--events`): `poll` reads the provider's `events/list` every few seconds into the
controller's inbox (`eventpoll`), for a controller Seam cannot reach; `webhook` expects Seam
to post them to `/webhooks/seam`, so it needs `--listen` and `SEAM_WEBHOOK_SECRET` and says so
before starting; `off` (the default, today's behaviour) reads none (the webhook route still
answers when `SEAM_WEBHOOK_SECRET` is set). With events on, `--interval` is only the safety net
of a full resync and can be an hour.

With a shared state (`--state postgresql://...`) the controller is one replica of a fleet: it
holds a fair share of the devices by leases of `--lease` (default 30 s), reconciles and writes
only those, and takes in webhooks for any device, queued for the replica holding it
(`fleet`, `replicas`, `fencing`, `sharedinbox`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from watchfiles import Change, awatch

from reconciler.controller.eventpoll import PERIOD, EventPoller
from reconciler.controller.loop import Controller, ProviderFactory, default_provider_factory
from reconciler.controller.replicas import DEFAULT_LEASE
from reconciler.core.errors import UsageError
from reconciler.core.settings import STATE_ENV
from reconciler.state.store import check_state_url

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
    events: str = "off",
    poll_period: float = PERIOD,
    state: str | None = None,
    lease: float = DEFAULT_LEASE,
) -> int:
    """Run until SIGTERM (or one run with `once`); 0 on a clean stop. `events`: `poll`,
    `webhook` or `off` (see the module); `poll_period`: seconds between reads. On a shared
    `state` (PostgreSQL) the controller is one replica of a fleet (`fleet`), holding its
    devices by leases of `lease` seconds."""
    check_events(events, listen)
    state = check_state_url(state or os.environ.get(STATE_ENV))
    if lease < 1:
        raise UsageError(
            f"--lease is at least 1s (a replica renews every third of it), not {lease:g}s"
        )
    controller = Controller(
        config_path, interval=interval, provider_factory=provider_factory, state=state
    )
    loop = asyncio.get_running_loop()
    for sig, action in (
        (signal.SIGTERM, controller.stop),
        (signal.SIGINT, controller.stop),
        (signal.SIGHUP, controller.poke),
    ):
        loop.add_signal_handler(sig, action)
    runner = await _listen(controller, listen) if listen is not None else None
    try:
        async with (
            _replica(controller, config_path, state, lease),
            _watching(controller, config_path, enabled=not once),
            _polling(controller, enabled=events == "poll" and not once, period=poll_period),
        ):
            await controller.run(once=once)
    finally:
        if runner is not None:
            await runner.cleanup()
        await controller.aclose()
        controller.emit("stopped")
    return 1 if once and not controller.metrics.last_ok else 0


def check_events(events: str, listen: tuple[str, int] | None) -> None:
    """Refuse, before anything runs, an events mode that cannot work as asked."""
    if events not in ("poll", "webhook", "off"):
        raise UsageError(f"--events is poll, webhook or off, not {events!r}")
    if events != "webhook":
        return
    if listen is None:
        raise UsageError("--events webhook needs --listen HOST:PORT (Seam posts to /webhooks/seam)")
    if not os.environ.get("SEAM_WEBHOOK_SECRET"):
        raise UsageError(
            "--events webhook needs SEAM_WEBHOOK_SECRET (`accesscodes webhooks setup` prints "
            "where it comes from); without a webhook use --events poll"
        )


async def _listen(controller: Controller, listen: tuple[str, int]) -> web.AppRunner:
    """Serve the endpoints (aiohttp imported only now)."""
    from reconciler.controller.endpoints import make_app, start

    runner = await start(make_app(controller), *listen)
    controller.emit("listening", address=f"{listen[0]}:{listen[1]}")
    return runner


@contextlib.asynccontextmanager
async def _replica(
    controller: Controller, config_path: Path, state: str | None, lease: float
) -> AsyncIterator[None]:
    """A replica of the fleet on a shared state; on the SQLite state, the only controller."""
    if state is None:
        yield
        return
    from reconciler.controller.fleet import sharing

    async with sharing(controller, config_path, state, lease=lease):
        yield


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


@contextlib.asynccontextmanager
async def _polling(controller: Controller, *, enabled: bool, period: float) -> AsyncIterator[None]:
    """Read the provider's events into the inbox while the block runs."""
    if not enabled:
        yield
        return
    controller.emit("events_polling", every=period)
    poller = asyncio.create_task(EventPoller(controller, period=period).run())
    try:
        yield
    finally:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
