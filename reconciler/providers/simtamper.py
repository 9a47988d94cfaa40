"""`accesscodes sim tamper`: make the simulator drift the way real locks do, for demos and tests.

Each action is something that happens to real fleets: a PIN changed on the keypad, a code
disabled in the maker's app, a code added by hand, a code that vanished, a lock offline, a code
the lock failed to set, a backup pool used up. Each is saved with the event Seam would send of
it (`simevents`), so a controller reading events (`--events poll`) acts on it within seconds.
"""

from __future__ import annotations

import secrets
from typing import Any

from reconciler.core.errors import UsageError
from reconciler.providers.sim import SimProvider
from reconciler.providers.simevents import TAMPER_EVENTS, record

ACTIONS = (
    "change-pin",
    "disable",
    "add-unmanaged",
    "remove",
    "offline",
    "online",
    "fail",
    "empty-backup-pool",
)


def tamper(
    sim: SimProvider, action: str, device_id: str, name: str | None, code: str | None = None
) -> str:
    """Apply one tampering to the simulator's file; return what was done (never a PIN)."""
    state = sim._load()
    device = state["devices"].get(device_id)
    if device is None:
        raise UsageError(f"the simulator has no device {device_id} (apply once first)")
    if action in ("offline", "online"):
        device["online"] = action == "online"
        _save(sim, state, action, device_id, None)
        return f"{device_id} is now {action}"
    if action == "empty-backup-pool":
        device["backup_pool"] = []  # used up: and on, so a later create does not refill it
        sim._save(state)
        return f"the backup pool of {device_id} is now empty"
    if name is None:
        raise UsageError(f"sim tamper {action} needs a code NAME")
    if action == "add-unmanaged":
        state["next_id"] = state.get("next_id", 1) + 1
        added = f"sim_code_{state['next_id'] - 1}"
        device["codes"].append(
            {
                "access_code_id": added,
                "name": name,
                "code": code or f"{secrets.randbelow(900000) + 100000}",
                "is_managed": False,
                "errors": [],
                "warnings": [],
            }
        )
        _save(sim, state, action, device_id, added)
        return f"added an unmanaged code '{name}' on {device_id}"
    target = _find(device, name, device_id)
    if action == "change-pin":
        target["code"] = code or f"{secrets.randbelow(900000) + 100000}"
        done = "changed the PIN on the keypad"
    elif action == "disable":
        target["warnings"] = [
            {"code": "ultraloq_access_code_disabled", "message": "disabled in the Ultraloq app"}
        ]
        done = "disabled it in the vendor app"
    elif action == "remove":
        device["codes"] = [c for c in device["codes"] if c is not target]
        done = "removed it from the lock"
    elif action == "fail":
        target["status"] = "setting"
        target["errors"] = [
            {"code": "failed_to_set_on_device", "message": "the lock did not accept the code"}
        ]
        done = "made the lock fail to set it"
    else:
        raise UsageError(f"unknown tamper action {action!r} (one of {', '.join(ACTIONS)})")
    _save(sim, state, action, device_id, target["access_code_id"])
    return f"{device_id} / {name}: {done}"


def _save(
    sim: SimProvider, state: dict[str, Any], action: str, device_id: str, code_id: str | None
) -> None:
    """Save the tampered fleet with the event Seam would have told of it (`simevents`)."""
    event_type = TAMPER_EVENTS.get(action)
    if event_type is not None:
        record(state, event_type, device_id, code_id, sim.clock())
    sim._save(state)


def _find(device: dict[str, Any], name: str, device_id: str) -> dict[str, Any]:
    for raw in device["codes"]:
        if raw["name"] == name:
            return raw  # type: ignore[no-any-return]
    raise UsageError(f"no code named '{name}' on {device_id}")
