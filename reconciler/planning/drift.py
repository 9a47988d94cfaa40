"""Drift: how the locks differ from what accesscodes last wrote, whatever the config says.

A config edit is a change; a code edited on the keypad, disabled in a vendor app, failed on the
lock or vanished is drift. Provider warnings and errors say some of it; the journal's record
of what we wrote (keyed fingerprints, never PINs) says the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.core.models import (
    AccessCodeId,
    CodeStatus,
    DesiredDevice,
    LiveCode,
    LiveDevice,
    WrittenCode,
)
from reconciler.core.plan import Drift, DriftKind
from reconciler.core.settings import format_duration

_WARNING_DRIFT = {
    "ultraloq_access_code_disabled": (
        DriftKind.DISABLED_IN_VENDOR_APP,
        "disabled in the Ultraloq app; the API cannot re-enable it: re-enable it in the app",
    ),
    "code_modified_external_to_seam": (
        DriftKind.MODIFIED_EXTERNALLY,
        "changed outside accesscodes (keypad or vendor app)",
    ),
}
_ERROR_DRIFT = {
    "code_modified_external_to_seam": DriftKind.MODIFIED_EXTERNALLY,
}


Fingerprint = Callable[[str, datetime | None, datetime | None], str]


@dataclass(frozen=True)
class LastWritten:
    """What we last wrote to each code (keyed fingerprints from the journal), so a code changed
    behind our back can be told from a config edit."""

    records: Mapping[AccessCodeId, WrittenCode]
    fingerprint: Fingerprint
    stuck_after: timedelta = timedelta(minutes=15)

    def changed_outside(self, live: LiveCode) -> bool:
        """Whether the lock reports other values than we last wrote to this code."""
        record = self.records.get(live.access_code_id)
        if record is None or live.code is None:
            return False
        return self.fingerprint(live.code, live.starts_at, live.ends_at) != record.fingerprint

    def stuck(self, live: LiveCode, now: datetime) -> bool:
        """A code we wrote that has been `setting` for too long."""
        record = self.records.get(live.access_code_id)
        return (
            record is not None
            and live.status is CodeStatus.SETTING
            and now - record.written_at > self.stuck_after
        )

    def vanished(self, device: LiveDevice, now: datetime) -> list[WrittenCode]:
        """Codes we wrote to this lock, not yet ended, that it no longer holds."""
        present = {c.access_code_id for c in (*device.codes, *device.unmanaged)}
        return [
            r
            for r in self.records.values()
            if r.device_id == device.device.device_id
            and r.access_code_id not in present
            and (r.ends_at is None or r.ends_at > now)
        ]


def live_drift(
    device: DesiredDevice, live: LiveCode, last_written: LastWritten | None, now: datetime
) -> list[Drift]:
    """What one code on the lock shows: stuck setting, changed behind our back, disabled in a
    vendor app, or refused by the lock (its errors)."""
    found = []
    if last_written is not None and last_written.stuck(live, now):
        found.append(
            Drift(
                device.key,
                live.name,
                DriftKind.STUCK_SETTING,
                f"still setting on the lock {format_duration(last_written.stuck_after)} after "
                "it was written",
                live.access_code_id,
            )
        )
    if last_written is not None and last_written.changed_outside(live):
        found.append(
            Drift(
                device.key,
                live.name,
                DriftKind.MODIFIED_EXTERNALLY,
                "PIN or window changed outside accesscodes since it was last applied",
                live.access_code_id,
            )
        )
    for warning in live.warnings:
        if warning.code in _WARNING_DRIFT:
            kind, detail = _WARNING_DRIFT[warning.code]
            found.append(Drift(device.key, live.name, kind, detail, live.access_code_id))
    for error in live.errors:
        kind = _ERROR_DRIFT.get(error.code, DriftKind.FAILED_TO_SET)
        detail = f"{error.code}: {error.message}" if error.message else error.code
        found.append(Drift(device.key, live.name, kind, detail, live.access_code_id))
    return found


def lock_drift(
    device: DesiredDevice, live: LiveDevice, last_written: LastWritten | None, now: datetime
) -> list[Drift]:
    """What the lock as a whole shows: codes we wrote that it no longer holds, and codes set
    outside accesscodes (reported, never touched)."""
    found = []
    if last_written is not None:
        for gone in last_written.vanished(live, now):
            found.append(
                Drift(
                    device.key,
                    gone.name,
                    DriftKind.MISSING,
                    "written by accesscodes and no longer on the lock",
                    gone.access_code_id,
                )
            )
    for other in live.unmanaged:
        found.append(
            Drift(
                device.key,
                other.name,
                DriftKind.UNMANAGED_CODE,
                "code set outside accesscodes; it is never changed or deleted",
                other.access_code_id,
            )
        )
    return found
