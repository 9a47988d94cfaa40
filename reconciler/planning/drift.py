"""Drift: how the locks differ from what accesscodes last wrote, whatever the config says.

A config edit is a change; a code edited on the keypad, disabled in a vendor app, failed on the
lock or vanished is drift. Provider warnings and errors say some of it; the journal's record
of what we wrote (keyed fingerprints, never PINs) says the rest. Where the journal also kept
the PIN's own fingerprint and the window in the clear, a code changed behind our back names
what changed: `changed outside accesscodes: code (PIN), ends_at A -> B` (never the PIN).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from reconciler.core.models import (
    AccessCodeId,
    CodeStatus,
    DesiredDevice,
    LiveCode,
    LiveDevice,
    WrittenCode,
)
from reconciler.core.plan import Drift, DriftKind, iso
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
CHANGED_OUTSIDE = "PIN or window changed outside accesscodes since it was last applied"
FIELDS = ("code", "starts_at", "ends_at")


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

    def changed_fields(self, live: LiveCode) -> str:
        """What a code changed outside accesscodes differs in, as drift's detail: `code
        (PIN)` and each window end that moved, old -> new; today's words where the journal
        kept one fingerprint of all three (a row an older version wrote)."""
        from deepdiff import DeepDiff

        record = self.records.get(live.access_code_id)
        if record is None or not record.pin_fingerprint or not live.code:
            return CHANGED_OUTSIDE
        written = {
            "code": record.pin_fingerprint,
            "starts_at": iso(record.starts_at),
            "ends_at": iso(record.ends_at),
        }
        found = {
            "code": self.fingerprint(live.code, None, None),
            "starts_at": iso(live.starts_at),
            "ends_at": iso(live.ends_at),
        }
        moved = DeepDiff(written, found).affected_root_keys
        parts = [
            "code (PIN)"
            if name == "code"
            else f"{name} {written[name] or 'none'} -> {found[name] or 'none'}"
            for name in FIELDS
            if name in moved
        ]
        if not parts:
            return CHANGED_OUTSIDE
        return "changed outside accesscodes: " + ", ".join(parts)

    def stuck(self, live: LiveCode, now: datetime) -> bool:
        """A code we wrote that has been `setting` for too long."""
        record = self.records.get(live.access_code_id)
        return (
            record is not None
            and live.status is CodeStatus.SETTING
            and now - record.written_at > self.stuck_after
        )

    @cached_property
    def _by_device(self) -> dict[str, list[WrittenCode]]:
        """The records by lock, in the journal's order: a plan asks once per lock, and a scan
        of every record for each of 10,000 locks is 10,000 scans of the whole journal."""
        found: dict[str, list[WrittenCode]] = {}
        for record in self.records.values():
            found.setdefault(record.device_id, []).append(record)
        return found

    def vanished(self, device: LiveDevice, now: datetime) -> list[WrittenCode]:
        """Codes we wrote to this lock, not yet ended, that it no longer holds."""
        present = {c.access_code_id for c in (*device.codes, *device.unmanaged)}
        return [
            r
            for r in self._by_device.get(device.device.device_id, ())
            if r.access_code_id not in present and (r.ends_at is None or r.ends_at > now)
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
                last_written.changed_fields(live),
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
