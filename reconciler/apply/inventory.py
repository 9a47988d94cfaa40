"""Read the live state of the listed devices, many at once within a bound.

A lock whose codes cannot be read (it timed out, the provider refused that one call) is
returned with `read_error` and no codes, so the planner blocks its changes with the reason
while the other locks are planned; an empty listing is never mistaken for an empty lock. If
the devices themselves cannot be listed, the provider is down: that fails the whole read.

A fixed number of workers take the devices one after another (a 50,000-lock fleet is not
50,000 waiting tasks), and each lock is handed to `on_device` as soon as it is read, so the
caller can plan it while the rest are still on the way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from reconciler.core.errors import ProviderError, mask_digits
from reconciler.core.models import Device, DeviceId, LiveCode, LiveDevice
from reconciler.providers.base import Provider


class Forget:
    """What `read_live`'s `on_device` returns for a lock it is done with: nothing of it is
    kept (a plan written as it is made needs no lock once planned)."""


FORGET = Forget()


async def read_live(
    provider: Provider,
    device_ids: Sequence[DeviceId],
    *,
    concurrency: int,
    on_read: Callable[[], None] | None = None,
    on_device: Callable[[LiveDevice], LiveDevice | Forget | None] | None = None,
) -> dict[DeviceId, LiveDevice]:
    """Every listed device the provider knows, with its managed and unmanaged codes, or with
    why its codes could not be read. `on_read` is called once per device read (or failed to
    read), for a progress bar; `on_device` with each device as it is read, and what it
    returns is kept in its place (a caller done with a lock's codes keeps less; None: all;
    `FORGET`: nothing, the lock is left out of the result).

    `concurrency` devices are read at once, unless the provider says it takes more
    (`devices_at_once`: the Seam client, whose own limit on requests in flight grows while
    the API keeps up, then decides how many go out)."""
    devices: list[Device | None] = [*await provider.list_devices(list(dict.fromkeys(device_ids)))]
    workers = max(concurrency, getattr(provider, "devices_at_once", 0) or 0)
    read: list[LiveDevice | Forget | None] = [None] * len(devices)
    queue = iter(range(len(devices)))

    async def worker() -> None:
        for index in queue:  # shared: each worker takes the next device
            device, devices[index] = devices[index], None  # held by what is kept of it
            assert device is not None  # (each index is taken once)
            live = await _one(provider, device)
            if on_read is not None:
                on_read()
            kept = on_device(live) if on_device is not None else None
            read[index] = live if kept is None else kept

    await asyncio.gather(*(worker() for _ in range(min(workers, len(devices)))))
    return {live.device.device_id: live for live in read if isinstance(live, LiveDevice)}


async def _one(provider: Provider, device: Device) -> LiveDevice:
    """One device with its codes, or with why they could not be read."""
    try:
        codes: list[LiveCode] = await provider.list_codes(device.device_id)
    except ProviderError as exc:
        return LiveDevice(device=device, read_error=mask_digits(str(exc) or type(exc).__name__))
    return LiveDevice(
        device=device,
        codes=tuple(c for c in codes if c.is_managed),
        unmanaged=tuple(c for c in codes if not c.is_managed),
    )
