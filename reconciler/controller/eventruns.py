"""What the controller does with the events its inbox took: a reconcile of just their devices.

The events of a burst are taken together after a short debounce, checked against the state
store (an event acted on before, even by an earlier process, is dropped), their unlocks kept as
usage, and the devices they name (and the config lists) reconciled as one run limited to those
devices: the same plan, rails and journal as a full run, on a handful of locks. An event for a
device the config does not list is counted (`accesscodes_events_total{outcome="unmatched"}`),
never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from reconciler.config.load import Config
from reconciler.controller.events import Event
from reconciler.core.models import DeviceId
from reconciler.core.plan import iso
from reconciler.state.eventlog import Unlock
from reconciler.state.journal import Journal

DEBOUNCE = 0.2  # seconds: the events of one burst (a code deleted: several events) run once


@dataclass(frozen=True)
class EventBatch:
    """The events of one drain that matter: new ones, the devices to reconcile, the rest."""

    fresh: tuple[Event, ...]
    devices: frozenset[DeviceId]
    unmatched: int
    duplicates: int


def sort_events(
    events: Sequence[Event], config: Config, journal: Journal | None, now: datetime
) -> EventBatch:
    """Drop the events acted on before (the state store remembers them across restarts),
    and find the listed devices the others name."""
    fresh = list(events)
    if journal is not None:
        new_ids = journal.events.first_time((e.event_id for e in events), now)
        fresh = [e for e in events if e.event_id in new_ids]
    listed = {d.device_id for d in config.devices}
    devices = {
        DeviceId(e.device_id) for e in fresh if e.concerns_a_device and e.device_id in listed
    }
    unmatched = sum(1 for e in fresh if e.device_id is not None and e.device_id not in listed)
    return EventBatch(tuple(fresh), frozenset(devices), unmatched, len(events) - len(fresh))


def record_unlocks(journal: Journal, config: Config, events: Iterable[Event]) -> list[Unlock]:
    """Keep each unlock made with a code, under the code's name as we wrote it (or as the
    config names the device), never a PIN; usage informs and never changes a code."""
    keys = {d.device_id: d.key for d in config.devices}
    unlocks = [e for e in events if e.is_unlock_by_code and e.device_id is not None]
    if not unlocks:
        return []
    written = journal.written(sorted({str(e.device_id) for e in unlocks}))
    kept = []
    for event in unlocks:
        assert event.device_id is not None and event.access_code_id is not None
        record = written.get(event.access_code_id)  # type: ignore[call-overload]
        unlock = Unlock(
            at=iso(event.occurred_at) or "",
            device=keys.get(DeviceId(event.device_id)),
            device_id=event.device_id,
            access_code_id=event.access_code_id,
            name=record.name if record is not None else None,
        )
        journal.events.record_unlock(event.event_id, unlock)
        kept.append(unlock)
    return kept


def limited_to(config: Config, device_ids: Iterable[DeviceId]) -> Config:
    """The config with only these devices: a run that reads and writes just them."""
    wanted = set(device_ids)
    return replace(config, devices=tuple(d for d in config.devices if d.device_id in wanted))
