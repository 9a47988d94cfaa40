"""Read the live state of the listed devices, many at once within a bound."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from reconciler.models import DeviceId, LiveDevice
from reconciler.providers.base import Provider


async def read_live(
    provider: Provider, device_ids: Sequence[DeviceId], *, concurrency: int
) -> dict[DeviceId, LiveDevice]:
    """Every listed device the provider knows, with its managed and unmanaged codes."""
    devices = await provider.list_devices(list(dict.fromkeys(device_ids)))
    gate = asyncio.Semaphore(concurrency)

    async def one(device_id: DeviceId) -> list:  # type: ignore[type-arg]
        async with gate:
            return await provider.list_codes(device_id)

    listings = await asyncio.gather(*(one(d.device_id) for d in devices))
    live = {}
    for device, codes in zip(devices, listings, strict=True):
        live[device.device_id] = LiveDevice(
            device=device,
            codes=tuple(c for c in codes if c.is_managed),
            unmanaged=tuple(c for c in codes if not c.is_managed),
        )
    return live
