"""The simulator's events: what Seam would say happened to its locks, in Seam's shape.

So `accesscodes controller --events poll` works on the simulator as on Seam: each write the
simulator takes (`access_code.created`, `changed`, `deleted`, `backup_access_code_pulled`) and
each `sim tamper` action (a PIN changed on the keypad or a code removed behind our back:
`access_code.modified_external_to_seam`, `deleted_external_to_seam`; a lock going offline:
`device.disconnected`; ...) is kept in the fleet's file beside the locks, the newest `KEEP`
only (a demo's worth; the full resync covers anything older). Times carry microseconds, so
`since` orders two events of one second.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from reconciler.core.plan import iso

KEEP = 500

TAMPER_EVENTS = {
    "change-pin": "access_code.modified_external_to_seam",
    "disable": "access_code.modified_external_to_seam",
    "add-unmanaged": "access_code.unmanaged.created",
    "remove": "access_code.deleted_external_to_seam",
    "fail": "access_code.failed_to_set_on_device",
    "offline": "device.disconnected",
    "online": "device.connected",
}


def record(
    state: dict[str, Any],
    event_type: str,
    device_id: str,
    access_code_id: str | None,
    now: datetime,
) -> None:
    """Keep one event in the fleet's state (saved with it)."""
    event: dict[str, Any] = {
        "event_id": f"sim_event_{uuid.uuid4().hex}",
        "event_type": event_type,
        "device_id": device_id,
        "created_at": iso(now),
        "occurred_at": iso(now),
    }
    if access_code_id is not None:
        event["access_code_id"] = access_code_id
    events = state.setdefault("events", [])
    events.append(event)
    del events[:-KEEP]


def events_since(state: dict[str, Any], since: datetime) -> list[dict[str, Any]]:
    """The events created after `since`, oldest first."""
    found = []
    for event in state.get("events") or ():
        created = datetime.fromisoformat(str(event["created_at"]).replace("Z", "+00:00"))
        if created > since:
            found.append(dict(event))
    return found
