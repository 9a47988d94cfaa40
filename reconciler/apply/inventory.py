"""Read the live state of the listed devices, many at once within a bound.

A lock whose codes cannot be read (it timed out, the provider refused that one call) is
returned with `read_error` and no codes, so the planner blocks its changes with the reason
while the other locks are planned; an empty listing is never mistaken for an empty lock. If
the devices themselves cannot be listed, the provider is down: that fails the whole read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from reconciler.core.errors import ProviderError, mask_digits
from reconciler.core.models import DeviceId, LiveCode, LiveDevice
from reconciler.providers.base import Provider


async def read_live(
    provider: Provider,
    device_ids: Sequence[DeviceId],
    *,
    concurrency: int,
    on_read: Callable[[], None] | None = None,
) -> dict[DeviceId, LiveDevice]:
    """Every listed device the provider knows, with its managed and unmanaged codes, or with
    why its codes could not be read. `on_read` is called once per device read (or failed to
    read), for a progress bar."""
    devices = await provider.list_devices(list(dict.fromkeys(device_ids)))
    gate = asyncio.Semaphore(concurrency)

    async def one(device_id: DeviceId) -> list[LiveCode] | str:
        async with gate:
            try:
                return await provider.list_codes(device_id)
            except ProviderError as exc:
                return mask_digits(str(exc) or type(exc).__name__)
            finally:
                if on_read is not None:
                    on_read()

    listings = await asyncio.gather(*(one(d.device_id) for d in devices))
    live = {}
    for device, codes in zip(devices, listings, strict=True):
        if isinstance(codes, str):
            live[device.device_id] = LiveDevice(device=device, read_error=codes)
            continue
        live[device.device_id] = LiveDevice(
            device=device,
            codes=tuple(c for c in codes if c.is_managed),
            unmanaged=tuple(c for c in codes if not c.is_managed),
        )
    return live
