"""A controller joining the fleet of replicas on a shared state (`--state postgresql://...`).

`sharing` makes the controller a replica for the length of a block: it loads the config once
(the devices to share), starts the lease keeper with one tick first (so the first run already
has devices), puts the shared inbox in place of the process' own, and checks the queue every
second for events another replica took in for this one. On the way out the leases are handed
back, so the others take over at once instead of after the lease time. With the SQLite state
nothing changes: one controller owns every device.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from reconciler.config.load import load_config
from reconciler.controller.loop import Controller
from reconciler.controller.replicametrics import ReplicaCollector
from reconciler.controller.replicas import DEFAULT_LEASE, Replica
from reconciler.controller.sharedinbox import SharedInbox
from reconciler.core.errors import AccessCodesError

QUEUE_CHECK = 1.0  # seconds between looks at the shared event queue


def _listed(controller: Controller) -> list[str]:
    config = controller.last_config
    return [str(d.device_id) for d in config.devices] if config is not None else []


@contextlib.asynccontextmanager
async def sharing(
    controller: Controller, config_path: Path, url: str, *, lease: float = DEFAULT_LEASE
) -> AsyncIterator[Replica]:
    """Run the block as one replica of the fleet on the database at `url`."""
    with contextlib.suppress(AccessCodesError):  # a bad config: the first run says so
        controller.last_config = load_config(config_path, state=url)
    loop = asyncio.get_running_loop()
    replica = Replica(
        url,
        devices=lambda: _listed(controller),
        emit=controller.emit,
        lease=lease,
        on_gain=lambda: loop.call_soon_threadsafe(controller.poke),
    )
    controller.replica = replica
    inbox = SharedInbox(
        replica,
        listed=lambda: _listed(controller),
        on_event=lambda: loop.call_soon_threadsafe(controller.wake.set),  # offered in a thread
    )
    early, controller.inbox = controller.inbox.take(), inbox
    for event in early:  # a webhook taken in before the replica joined: to its owner too
        with contextlib.suppress(AccessCodesError):
            inbox.offer(event)
    controller.metrics.registry.register(ReplicaCollector(replica))
    controller.emit("replica_started", **replica.describe())
    await asyncio.to_thread(replica.start)
    checker = asyncio.create_task(_check_queue(controller, inbox))
    try:
        yield replica
    finally:
        checker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checker
        await asyncio.to_thread(replica.stop)
        controller.emit("replica_stopped", replica=replica.replica_id)


async def _check_queue(controller: Controller, inbox: SharedInbox) -> None:
    """Every second: say the loop is alive (the keeper renews only then), and look for events
    another replica queued for this one."""
    assert controller.replica is not None
    while True:
        await asyncio.sleep(QUEUE_CHECK)
        controller.replica.beat()
        try:
            if await asyncio.to_thread(inbox.refresh):
                controller.wake.set()
        except Exception:  # the database is away (the keeper says so), or worse: keep beating
            pass
