"""Writes to locks only under a lease this replica holds: the provider, fenced.

Every write (create, update, delete, a backup-code pull) first passes two checks, and is not
sent (`LeaseLost`, that change's outcome) when either fails:
- the process' own, on its monotonic clock (`Ownership.writing`): no lease that may have run
  out on the database, whatever happened to this process in between (a pause, a stall);
- the database's, under the lease's term (`Replica.check_write`): the row still names this
  replica with the same term and has a margin left on the database's clock. A replica that was
  paused and taken over sees another term, and a database it cannot reach counts as a lost
  lease. The lease is not handed back while the write goes out, and a write still waiting
  (the pace after a 429, a retry's back-off) when the lease runs out is stopped.
Reads pass as they are: reading a lock another replica owns changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.core.errors import LeaseLost
from reconciler.core.models import CodeSpec, Device, DeviceId, LiveCode
from reconciler.providers.base import Provider

if TYPE_CHECKING:
    from reconciler.controller.replicas import Replica

T = TypeVar("T")


class FencedProvider:
    """`provider` with each write checked against this replica's lease (module docstring)."""

    def __init__(self, provider: Provider, replica: Replica) -> None:
        self.inner = provider
        self.replica = replica
        self.kind = provider.kind

    @property
    def devices_at_once(self) -> int:
        """As the provider reads them (`apply.inventory`): fencing changes no read."""
        return int(getattr(self.inner, "devices_at_once", 0) or 0)

    async def list_devices(self, device_ids: Sequence[DeviceId]) -> list[Device]:
        """As the provider answers."""
        return await self.inner.list_devices(device_ids)

    async def list_codes(self, device_id: DeviceId) -> list[LiveCode]:
        """As the provider answers."""
        return await self.inner.list_codes(device_id)

    async def list_events(self, since: datetime) -> list[dict[str, Any]]:
        """As the provider answers."""
        return await self.inner.list_events(since)

    async def create_code(self, device_id: DeviceId, spec: CodeSpec) -> LiveCode:
        """Create, if the device's lease is still ours."""
        return await self._fenced(device_id, lambda: self.inner.create_code(device_id, spec))

    async def update_code(self, code: LiveCode, spec: CodeSpec) -> None:
        """Update, if the device's lease is still ours."""
        await self._fenced(code.device_id, lambda: self.inner.update_code(code, spec))

    async def delete_code(self, code: LiveCode) -> None:
        """Delete, if the device's lease is still ours."""
        await self._fenced(code.device_id, lambda: self.inner.delete_code(code))

    async def pull_backup_code(self, code: LiveCode) -> LiveCode | None:
        """Pull a backup code, if the device's lease is still ours."""
        return await self._fenced(code.device_id, lambda: self.inner.pull_backup_code(code))

    async def aclose(self) -> None:
        """The provider is the controller's: closed by it, not here."""

    async def _fenced(self, device_id: str, write: Callable[[], Awaitable[T]]) -> T:
        """The write, under the lease: checked before it starts, and stopped if the lease
        runs out while it waits (the pace after a 429, a retry's back-off)."""
        ownership = self.replica.ownership
        with ownership.writing(device_id) as term:
            await self._confirm(device_id, term)
            sending = asyncio.ensure_future(write())
            try:
                while True:
                    done, _ = await asyncio.wait({sending}, timeout=ownership.time_left(device_id))
                    if done:
                        return sending.result()
                    if ownership.time_left(device_id) <= 0:
                        raise LeaseLost(
                            f"stopped: the lease of {device_id} ran out while the write waited; "
                            "the next run of the device's owner sees where it ended"
                        )
            finally:
                sending.cancel()

    async def _confirm(self, device_id: str, term: int) -> None:
        try:
            held = await asyncio.to_thread(self.replica.check_write, device_id, term)
        except Exception as exc:  # a database that cannot answer cannot vouch for the lease
            raise LeaseLost(f"not sent: the lease of {device_id} could not be checked") from exc
        if not held:
            raise LeaseLost(
                f"not sent: the lease of {device_id} is no longer this replica's "
                f"(term {term} ended); another replica owns it"
            )
