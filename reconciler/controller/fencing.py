"""Writes to locks only under a lease this replica holds: the provider, fenced.

Every write (create, update, delete, a backup-code pull) first passes two checks, and is not
sent (`LeaseLost`, that change's outcome) when either fails:
- the process' own, on its monotonic clock (`Ownership.writing`): no lease that may have run
  out on the database, whatever happened to this process in between (a pause, a stall);
- the database's, under the lease's term (`Replica.check_write`): the row still names this
  replica with the same term and has a margin left on the database's clock. A replica that was
  paused and taken over sees another term, and a database it cannot reach counts as a lost
  lease. The lease is not handed back while the write goes out.
Reads pass as they are: reading a lock another replica owns changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from reconciler.controller.replicas import Replica
from reconciler.core.errors import LeaseLost
from reconciler.core.models import CodeSpec, Device, DeviceId, LiveCode
from reconciler.providers.base import Provider


class FencedProvider:
    """`provider` with each write checked against this replica's lease (module docstring)."""

    def __init__(self, provider: Provider, replica: Replica) -> None:
        self.inner = provider
        self.replica = replica
        self.kind = provider.kind

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
        with self.replica.ownership.writing(device_id) as term:
            await self._confirm(device_id, term)
            return await self.inner.create_code(device_id, spec)

    async def update_code(self, code: LiveCode, spec: CodeSpec) -> None:
        """Update, if the device's lease is still ours."""
        with self.replica.ownership.writing(code.device_id) as term:
            await self._confirm(code.device_id, term)
            await self.inner.update_code(code, spec)

    async def delete_code(self, code: LiveCode) -> None:
        """Delete, if the device's lease is still ours."""
        with self.replica.ownership.writing(code.device_id) as term:
            await self._confirm(code.device_id, term)
            await self.inner.delete_code(code)

    async def pull_backup_code(self, code: LiveCode) -> LiveCode | None:
        """Pull a backup code, if the device's lease is still ours."""
        with self.replica.ownership.writing(code.device_id) as term:
            await self._confirm(code.device_id, term)
            return await self.inner.pull_backup_code(code)

    async def aclose(self) -> None:
        """The provider is the controller's: closed by it, not here."""

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
