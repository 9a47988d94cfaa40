"""The embedded simulator: a fleet of locks kept in a JSON file, the default provider.

It lets anyone try plans and applies without hardware or an API key, and it is the fake the
tests use. Locks are created the first time a config names their `device_id`, with a
manufacturer profile (`providers/profiles.py`) chosen in the config's `provider.fleet` or from
the id's prefix. Like a real lock it refuses what its profile forbids, and like Seam it reports
a time-bound code `unset` before its window and drops it once the window has ended. Where the
profile has a backup pool, the first create asking for it (`use_backup_pool`) fills the lock's
pool with `BACKUP_POOL_SIZE` pre-generated codes, kept apart from the listed codes as Seam keeps
them; a pull moves one onto the lock, and the pool is not refilled (the `empty-backup-pool`
tamper action empties it), so an empty pool can be shown. The file is rewritten atomically
(temp file, then rename), so a crash never leaves half a fleet.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.config.schema import SimDeviceConfig
from reconciler.core.errors import InvalidInputError, NotFoundError, ProviderError
from reconciler.core.models import (
    AccessCodeId,
    Capabilities,
    CodeSpec,
    CodeStatus,
    Device,
    DeviceId,
    LiveCode,
    ProviderIssue,
)
from reconciler.core.plan import iso
from reconciler.core.rules import generate_pin, pin_violations
from reconciler.core.settings import parse_duration
from reconciler.providers.profiles import PROFILES, profile_for
from reconciler.providers.simevents import events_since, record
from reconciler.state.privatefile import private_dir

Clock = Callable[[], datetime]
STATE_VERSION = 1
BACKUP_POOL_SIZE = 3  # enough for a demo's failures; small enough to show an empty pool


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SimProvider:
    """A file-backed fleet of simulated locks."""

    kind = "sim"

    def __init__(
        self,
        state_file: Path,
        *,
        fleet: Mapping[str, SimDeviceConfig] | None = None,
        clock: Clock = _utcnow,
    ) -> None:
        self.state_file = state_file
        self.fleet = dict(fleet or {})
        self.clock = clock
        self._cached: dict[str, Any] = {}
        self._cached_signature: tuple[int, int, int] | None = None

    # -- reading -------------------------------------------------------------------------

    async def list_devices(self, device_ids: Sequence[DeviceId]) -> list[Device]:
        state = self._read()
        return [self._device(device_id, state) for device_id in device_ids]

    async def list_codes(self, device_id: DeviceId) -> list[LiveCode]:
        state = self._read()
        raw = state["devices"].get(device_id, {"codes": []})
        now = self.clock()
        return [
            self._live(device_id, code, now) for code in raw["codes"] if not _expired(code, now)
        ]

    # -- writing -------------------------------------------------------------------------

    async def create_code(self, device_id: DeviceId, spec: CodeSpec) -> LiveCode:
        state = self._load()
        device = self._device(device_id, state)
        raw_device = self._raw_device(device_id, state)
        if not raw_device.get("online", True):
            raise ProviderError(f"device {device_id} is offline", code="device_offline")
        caps = device.capabilities
        now = self.clock()
        codes = [c for c in raw_device["codes"] if not _expired(c, now)]
        self._check_room(caps.max_active_codes, codes, device_id)
        pins = [c["code"] for c in codes if c.get("code")]
        pin = spec.code
        if pin is None:
            pin = generate_pin(caps, taken=pins)
        elif not spec.offline:
            self._check_pin(pin, caps, pins, device_id)
        if spec.ends_at is not None and caps.time_bound_needs_timezone and not caps.timezone:
            raise InvalidInputError(
                "Time zone required for time-bound access codes on Ultraloq devices",
                code="invalid_input",
            )
        if spec.use_backup_pool:
            _activate_pool(raw_device, caps, spec, pins, device_id)
        state["next_id"] = state.get("next_id", 1) + 1
        raw = {
            "access_code_id": f"sim_code_{state['next_id'] - 1}",
            "name": spec.name,
            "code": pin,
            "starts_at": iso(spec.starts_at),
            "ends_at": iso(spec.ends_at),
            "is_managed": True,
            "is_offline": spec.offline,
            "is_one_time_use": spec.one_time_use,
            "created_at": iso(now),
            "set_at": iso(now + timedelta(seconds=raw_device.get("programming_delay_s", 0))),
            "errors": [],
            "warnings": [],
        }
        if raw_device.get("fails_to_set"):
            raw["status"] = "setting"
            raw["errors"] = [
                {"code": "failed_to_set_on_device", "message": "the lock did not accept the code"}
            ]
        raw_device["codes"] = [*codes, raw]
        record(state, "access_code.created", device_id, raw["access_code_id"], now)
        self._save(state)
        return self._live(device_id, raw, now)

    async def update_code(self, code: LiveCode, spec: CodeSpec) -> None:
        state = self._load()
        raw_device, raw = self._find(code, state)
        device = self._device(code.device_id, state)
        if raw.get("is_offline"):
            raise InvalidInputError("offline codes cannot be changed", code="invalid_input")
        if spec.code is not None and spec.code != raw.get("code"):
            others = [c["code"] for c in raw_device["codes"] if c is not raw and c.get("code")]
            self._check_pin(spec.code, device.capabilities, others, code.device_id)
            raw["code"] = spec.code
        raw["name"] = spec.name
        raw["starts_at"] = iso(spec.starts_at)
        raw["ends_at"] = iso(spec.ends_at)
        raw["errors"] = []
        raw["warnings"] = []
        record(state, "access_code.changed", code.device_id, code.access_code_id, self.clock())
        self._save(state)

    async def delete_code(self, code: LiveCode) -> None:
        state = self._load()
        raw_device, raw = self._find(code, state)
        raw_device["codes"] = [c for c in raw_device["codes"] if c is not raw]
        record(state, "access_code.deleted", code.device_id, code.access_code_id, self.clock())
        self._save(state)

    async def pull_backup_code(self, code: LiveCode) -> LiveCode | None:
        """Put a backup code from the lock's pool on the lock for `code`, working at once and
        until the code's end, as Seam does; the one already pulled for it if there is one, and
        None when the pool is empty (or was never filled)."""
        state = self._load()
        raw_device, raw = self._find(code, state)
        if not raw.get("ends_at"):
            raise InvalidInputError(
                "Backups can only be used for time_bound access codes.",
                code="access_code_not_time_bound",
            )
        now = self.clock()
        pulled = raw.get("pulled_backup_access_code_id")
        for other in raw_device["codes"]:
            if pulled and other["access_code_id"] == pulled and not _expired(other, now):
                return self._live(code.device_id, other, now)
        pool = raw_device.get("backup_pool") or []
        if not pool:
            return None
        state["next_id"] = state.get("next_id", 1) + 1
        backup_id = f"sim_backup_{state['next_id'] - 1}"
        backup = {
            "access_code_id": backup_id,
            "name": f"Backup {backup_id} (Seam)",
            "code": pool.pop(0),
            "starts_at": iso(now),
            "ends_at": raw["ends_at"],
            "is_managed": True,
            "is_backup": True,
            "status": "set",
            "created_at": iso(now),
            "errors": [],
            "warnings": [],
        }
        raw["pulled_backup_access_code_id"] = backup_id
        raw_device["backup_pool"] = pool
        raw_device["codes"].append(backup)
        record(state, "access_code.backup_access_code_pulled", code.device_id, backup_id, now)
        self._save(state)
        return self._live(code.device_id, backup, now)

    async def list_events(self, since: datetime) -> list[dict[str, Any]]:
        """The events of its own writes and of `sim tamper` after `since` (`simevents`)."""
        return events_since(self._read(), since)

    async def aclose(self) -> None:
        return None

    # -- helpers -------------------------------------------------------------------------

    def _device(self, device_id: DeviceId, state: dict[str, Any]) -> Device:
        raw = state["devices"].get(device_id) or self._new_device(device_id)
        caps = PROFILES[raw["profile"]]
        if raw.get("timezone"):
            caps = replace(caps, timezone=raw["timezone"])
        return Device(
            device_id=device_id,
            name=raw.get("name") or device_id,
            capabilities=caps,
            online=raw.get("online", True),
        )

    def _new_device(self, device_id: DeviceId) -> dict[str, Any]:
        wanted = self.fleet.get(device_id, SimDeviceConfig())
        explicit = wanted.profile if device_id in self.fleet else None
        return {
            "name": wanted.name or device_id,
            "profile": profile_for(device_id, explicit),
            "timezone": wanted.timezone,
            "online": True,
            "programming_delay_s": parse_duration(wanted.programming_delay).total_seconds(),
            "fails_to_set": wanted.fails_to_set,
            "codes": [],
        }

    def _raw_device(self, device_id: DeviceId, state: dict[str, Any]) -> dict[str, Any]:
        devices = state["devices"]
        if device_id not in devices:
            devices[device_id] = self._new_device(device_id)
        return devices[device_id]  # type: ignore[no-any-return]

    def _find(self, code: LiveCode, state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        raw_device = state["devices"].get(code.device_id)
        for raw in (raw_device or {}).get("codes", []):
            if raw["access_code_id"] == code.access_code_id:
                return raw_device, raw  # type: ignore[return-value]
        raise NotFoundError(
            f"access code {code.access_code_id} not found on {code.device_id}",
            code="access_code_not_found",
        )

    @staticmethod
    def _check_pin(pin: str, caps: Capabilities, others: list[str], device_id: str) -> None:
        problems = pin_violations(pin, caps, others=others)
        if problems:
            duplicate = "another code on this lock has the same PIN" in problems
            raise InvalidInputError(
                f"{device_id} refused the PIN: {'; '.join(problems)}",
                code="duplicate_access_code" if duplicate else "invalid_input",
            )

    @staticmethod
    def _check_room(limit: int | None, codes: list[dict[str, Any]], device_id: str) -> None:
        if limit is not None and len(codes) >= limit:
            raise ProviderError(
                f"{device_id} has no free slot ({limit} codes)",
                code="no_space_for_access_code_on_device",
            )

    def _live(self, device_id: DeviceId, raw: dict[str, Any], now: datetime) -> LiveCode:
        starts = _parse(raw.get("starts_at"))
        ends = _parse(raw.get("ends_at"))
        status = CodeStatus(raw["status"]) if raw.get("status") else CodeStatus.SET
        set_at = _parse(raw.get("set_at"))
        if not raw.get("status") and starts is not None and ends is not None and now < starts:
            status = CodeStatus.UNSET
        elif not raw.get("status") and set_at is not None and now < set_at:
            status = CodeStatus.SETTING
        return LiveCode(
            access_code_id=AccessCodeId(raw["access_code_id"]),
            device_id=device_id,
            name=raw["name"],
            code=raw.get("code"),
            starts_at=starts,
            ends_at=ends,
            status=status,
            is_managed=raw.get("is_managed", True),
            is_offline=raw.get("is_offline", False),
            is_one_time_use=raw.get("is_one_time_use", False),
            is_backup=raw.get("is_backup", False),
            errors=tuple(ProviderIssue(e["code"], e.get("message", "")) for e in raw["errors"]),
            warnings=tuple(ProviderIssue(w["code"], w.get("message", "")) for w in raw["warnings"]),
        )

    def _read(self) -> dict[str, Any]:
        """The fleet for reading only: parsed again only when the file changed (a plan lists
        every lock; parsing the whole fleet for each would be quadratic). Another process
        (`sim tamper`) replaces the file, so its inode, size and mtime tell."""
        try:
            stat = self.state_file.stat()
            signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        except OSError:
            signature = None
        if signature is None or signature != self._cached_signature:
            self._cached = self._load()
            self._cached_signature = signature
        return self._cached

    def _load(self) -> dict[str, Any]:
        """A fresh copy of the fleet, safe to change and save."""
        try:
            text = self.state_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": STATE_VERSION, "devices": {}, "next_id": 1}
        except OSError as exc:
            raise ProviderError(f"cannot read simulator state {self.state_file}: {exc}") from exc
        try:
            state = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProviderError(f"simulator state {self.state_file} is not valid JSON") from exc
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise ProviderError(f"simulator state {self.state_file} has an unknown format")
        return state

    def _save(self, state: dict[str, Any]) -> None:
        """Write the whole fleet to a temp file beside the state file, then rename over it."""
        private_dir(self.state_file.parent)  # the fleet holds PINs: folder 0700, file 0600
        handle, temp = tempfile.mkstemp(dir=self.state_file.parent, prefix=".sim.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(state, out, indent=2, sort_keys=True)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.state_file)
            self._cached_signature = None
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _activate_pool(
    raw_device: dict[str, Any], caps: Capabilities, spec: CodeSpec, pins: list[str], device_id: str
) -> None:
    """Seam's `use_backup_access_code_pool` on a create: refused where the lock has no pool or
    the code is ongoing (Seam pulls backups for time-bound codes only); the first one fills the
    pool, which then stays on for the lock."""
    if not caps.backup_pool:
        raise InvalidInputError(
            f"{device_id} does not support a backup access code pool", code="invalid_input"
        )
    if spec.ends_at is None:
        raise InvalidInputError(
            "Cannot use the backup pool for ongoing codes", code="invalid_input"
        )
    if "backup_pool" in raw_device:
        return
    taken = list(pins)
    for _ in range(BACKUP_POOL_SIZE):
        taken.append(generate_pin(caps, taken=taken))
    raw_device["backup_pool"] = taken[len(pins) :]


def _expired(raw: dict[str, Any], now: datetime) -> bool:
    ends = _parse(raw.get("ends_at"))
    return ends is not None and ends <= now
