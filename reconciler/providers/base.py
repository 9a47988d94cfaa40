"""The boundary every provider implements: read devices and codes, write codes. No planning.

A provider answers what the locks hold and carries out single writes; diffing, scheduling and
safety belong to the planner and the plan. Methods are async so a provider that talks HTTP can
read many locks at once; the simulator simply answers at once.

A write either returns (done), or raises a `ProviderError` the applier turns into the change's
outcome: `ActionPending` (accepted, still in progress: not a failure), `WriteOutcomeUnknown` (it
may or may not have happened: never sent again blind), any other (it did not happen). A provider
retries only what is safe to repeat, and its error messages never quote the PINs it was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from reconciler.core.models import CodeSpec, Device, DeviceId, LiveCode


class Provider(Protocol):
    """Reads and writes the access codes of a fleet of locks."""

    kind: str

    async def list_devices(self, device_ids: Sequence[DeviceId]) -> list[Device]:
        """The named devices the provider knows, with their capabilities; unknown ids are
        left out."""
        ...

    async def list_codes(self, device_id: DeviceId) -> list[LiveCode]:
        """Every code on the device, managed and unmanaged (`is_managed` tells them apart)."""
        ...

    async def create_code(self, device_id: DeviceId, spec: CodeSpec) -> LiveCode:
        """Put a new code on the device; `spec.code` None lets the provider choose the PIN.
        Never makes two codes: a create whose answer was lost is looked for before it is sent
        again, and is `WriteOutcomeUnknown` when it cannot be looked for."""
        ...

    async def update_code(self, code: LiveCode, spec: CodeSpec) -> None:
        """Change a code in place (same access_code_id); `ActionPending` if still under way."""
        ...

    async def delete_code(self, code: LiveCode) -> None:
        """Remove a code from its device; `NotFoundError` if it was not there to begin with
        (a retry finding it gone had removed it: success), `ActionPending` if still under way."""
        ...

    async def pull_backup_code(self, code: LiveCode) -> LiveCode | None:
        """Take a backup code from the lock's backup pool for `code` (a time-bound code that
        failed to set), so its holder still gets in; None when the pool is empty. Asking again
        for the same code returns the backup code it already got, never a second one."""
        ...

    async def list_events(self, since: datetime) -> list[dict[str, Any]]:
        """What happened on the locks since `since` (by the provider's clock), as Seam's event
        objects (`event_id`, `event_type`, `device_id`, `access_code_id`, `created_at`), so
        the controller can reconcile the one device that changed instead of listing every
        lock. There is no cursor: the caller reads overlapping windows and drops the events it
        has already taken by `event_id`."""
        ...

    async def aclose(self) -> None:
        """Release connections and files."""
        ...
