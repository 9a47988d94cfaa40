"""`accesscodes timeline`: per device, which codes are on the lock and active when.

A plan answers "what does `apply` do now?"; a timeline answers "who can open this door next
Tuesday, and when does the next code go on?". It is made from the same pieces as a plan (the
planner's changes, and `schedule.targets` for lead times), so it can never disagree with what
`apply` will do. `build_timeline` is pure: the CLI reads the locks and plans, this module only
arranges the result (cli/timeline_view.py shows it). No entry carries a PIN, so no renderer can
print one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.core.errors import UsageError
from reconciler.core.models import Capabilities, DesiredDevice, DeviceId, DeviceKey
from reconciler.core.plan import Action, Change, Plan, iso
from reconciler.core.settings import Settings
from reconciler.planning.schedule import Target, device_zone, targets


class State(StrEnum):
    """Where a code stands at the plan's `now`."""

    ONGOING = "ongoing"  # on the lock and inside its window (or without one)
    ON_LOCK = "on_lock"  # on the lock, its window still to come
    DUE = "due"  # a write is pending, now or at `due_at`
    BLOCKED = "blocked"  # the planner refuses it; it will not go on the lock as written


class Kind(StrEnum):
    """What sort of code an entry is, as a picture colours it: open-ended, one window (a stay
    or any time-bound code), one occurrence of a schedule, offline, or one-time."""

    ONGOING = "ongoing"
    STAY = "stay"
    RECURRING = "recurring"
    OFFLINE = "offline"
    ONE_TIME = "one_time"


def code_kind(*, offline: bool, one_time_use: bool, recurring: bool, windowed: bool) -> Kind:
    """The kind of a code from its values: one-time before offline (a one-time code is
    offline too), then a schedule's occurrence, then any window."""
    if one_time_use:
        return Kind.ONE_TIME
    if offline:
        return Kind.OFFLINE
    if recurring:
        return Kind.RECURRING
    return Kind.STAY if windowed else Kind.ONGOING


@dataclass(frozen=True)
class Entry:
    """One code (or one occurrence of a recurring code) on one device: when it is on the lock
    and when it opens the door. Deliberately without the PIN."""

    name: str
    state: State
    on_lock: bool
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    occurrence: datetime | None = None
    programmed_from: datetime | None = None
    change: str | None = None
    due_at: datetime | None = None
    reasons: tuple[str, ...] = ()
    source: str | None = None
    kind: Kind = Kind.ONGOING


@dataclass(frozen=True)
class NextDue:
    """The earliest deferred change: when a controller (or a person) must run `apply` next."""

    at: datetime
    device: DeviceKey
    name: str
    action: str
    occurrence: datetime | None
    timezone: str


@dataclass(frozen=True)
class DeviceTimeline:
    """One lock's entries within the period, in the order they go on the lock."""

    device: DeviceKey
    device_id: DeviceId
    timezone: str
    entries: tuple[Entry, ...]
    next_due: NextDue | None


@dataclass(frozen=True)
class Timeline:
    """Every selected device over one period, seen from the plan's `now`."""

    now: datetime
    start: datetime
    end: datetime
    devices: tuple[DeviceTimeline, ...]

    @property
    def next_due(self) -> NextDue | None:
        """The earliest deferred change over all shown devices (the plan's `next_due` when no
        device is filtered out)."""
        dues = [d.next_due for d in self.devices if d.next_due is not None]
        return min(dues, key=lambda n: n.at, default=None)


def select_devices(
    devices: Sequence[DesiredDevice], keys: Collection[str]
) -> tuple[DesiredDevice, ...]:
    """The devices named by `--device` (all when none is named), so only those locks are read;
    an unknown key is an error rather than an empty, reassuring timeline."""
    if not keys:
        return tuple(devices)
    known = {d.key for d in devices}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise UsageError(
            f"no device {', '.join(map(repr, unknown))} in the config "
            f"(devices: {', '.join(sorted(known)) or 'none'})"
        )
    return tuple(d for d in devices if d.key in keys)


def build_timeline(
    devices: Sequence[DesiredDevice],
    plan: Plan,
    capabilities: Mapping[DeviceId, Capabilities],
    settings: Settings,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Timeline:
    """Arrange a plan as a timeline from `start` (default: the plan's now) to `end` (default:
    now + `settings.horizon`).

    Every entry comes from the plan's change for that code, so the timeline shows exactly what
    `apply` would do. Schedules are expanded up to `end` even past the horizon; occurrences the
    plan has not reached yet are shown as creates due at their lead time. A device the provider
    did not report has no capabilities: its codes show as the plan's blocked changes.
    """
    now = plan.now
    start = start or now
    end = end or now + settings.horizon
    if end <= start:
        raise UsageError(f"--to ({iso(end)}) must be after --from ({iso(start)})")
    # Expand far enough to cover the whole period; never less than the plan did.
    wide = replace(settings, horizon=max(settings.horizon, end - now))
    shown = []
    for device in devices:
        caps = capabilities.get(device.device_id)
        zone = _zone(device, caps, settings)
        wanted = targets(device, caps, wide, now=now) if caps else []
        changes = [c for c in plan.changes if c.device == device.key]
        entries = _entries(changes, wanted, now)
        visible = tuple(
            e for _, e in sorted(entries, key=lambda p: p[0]) if _in(e, start, end, now)
        )
        shown.append(
            DeviceTimeline(
                device.key, device.device_id, str(zone), visible, _next_due(changes, zone)
            )
        )
    return Timeline(now, start, end, tuple(shown))


def _zone(device: DesiredDevice, caps: Capabilities | None, settings: Settings) -> ZoneInfo:
    if caps is not None:
        return device_zone(device, caps, settings)
    return ZoneInfo(device.timezone or settings.timezone)


_SortKey = tuple[datetime, int, datetime, str]


def _entries(
    changes: Sequence[Change], wanted: Sequence[Target], now: datetime
) -> list[tuple[_SortKey, Entry]]:
    by_identity = {(t.code.name, t.occurrence): t for t in wanted}
    out = []
    for change in changes:
        target = by_identity.pop((change.name, change.occurrence), None)
        out.append(_from_change(change, target, now))
    for target in by_identity.values():
        spec = target.spec
        if spec.ends_at is not None and spec.ends_at <= now:
            continue  # over, and not on the lock (else the plan would delete it)
        # Past the plan's horizon: the plan that reaches it will create it at its lead time.
        due = max(now, target.program_at or now)
        entry = Entry(
            name=target.code.name,
            state=State.DUE,
            on_lock=False,
            starts_at=spec.starts_at,
            ends_at=spec.ends_at,
            occurrence=target.occurrence,
            programmed_from=due,
            change=str(Action.CREATE),
            due_at=due,
            source=str(target.source) if target.source else None,
            kind=code_kind(
                offline=spec.offline,
                one_time_use=spec.one_time_use,
                recurring=target.occurrence is not None,
                windowed=spec.starts_at is not None or spec.ends_at is not None,
            ),
        )
        out.append(((due, 1, spec.starts_at or now, entry.name), entry))
    return out


def _from_change(change: Change, target: Target | None, now: datetime) -> tuple[_SortKey, Entry]:
    window = change.after or change.before
    starts = window.starts_at if window else None
    ends = window.ends_at if window else None
    on_lock = change.before is not None  # a live code was matched
    due_at: datetime | None = None
    programmed_from: datetime | None = None
    if change.action is Action.BLOCKED:
        state = State.BLOCKED
        sort_at = max(now, target.program_at or now) if target else now
    elif change.action is Action.NOOP:
        active = (starts is None or starts <= now) and (ends is None or now < ends)
        state = State.ONGOING if active else State.ON_LOCK
        sort_at = now
    else:
        state = State.DUE
        due_at = change.due_at or now
        sort_at = due_at
        if not on_lock:
            programmed_from = due_at
    entry = Entry(
        name=change.name,
        state=state,
        on_lock=on_lock,
        starts_at=starts,
        ends_at=ends,
        occurrence=change.occurrence,
        programmed_from=programmed_from,
        change=str(change.action) if state is State.DUE else None,
        due_at=due_at,
        reasons=change.reasons if state in (State.BLOCKED, State.DUE) else (),
        source=str(change.source) if change.source else None,
        kind=code_kind(
            offline=bool(window and window.offline),
            one_time_use=bool(window and window.one_time_use),
            recurring=change.occurrence is not None,
            windowed=starts is not None or ends is not None,
        ),
    )
    return (sort_at, 0 if on_lock else 1, starts or now, change.name), entry


def _in(entry: Entry, start: datetime, end: datetime, now: datetime) -> bool:
    """Whether the code can open the door at some time in the half-open period [start, end):
    its window starts before `end` and ends after `start`. A window that ends exactly at
    `start`, or starts exactly at `end`, does not overlap it."""
    if entry.change == str(Action.DELETE) and not start <= now <= end:
        return False  # on the lock only until the pending delete, which is due now
    opens = _opens(entry)
    return (opens is None or opens < end) and (entry.ends_at is None or entry.ends_at > start)


def _opens(entry: Entry) -> datetime | None:
    """When the code starts to open the door: its window's start, but never before it goes on
    the lock (`programmed_from`, unset for a code already on it). None: open at any time."""
    bounds = [t for t in (entry.starts_at, entry.programmed_from) if t is not None]
    return max(bounds, default=None)


def _next_due(changes: Sequence[Change], zone: ZoneInfo) -> NextDue | None:
    deferred = [(c.due_at, c) for c in changes if c.deferred and c.due_at is not None]
    if not deferred:
        return None
    at, first = min(deferred, key=lambda pair: pair[0])  # ties: the first in plan order
    return NextDue(at, first.device, first.name, str(first.action), first.occurrence, str(zone))


# --- data for scripts (cli/timeline_view.py renders it) --------------------------------------


def timeline_to_data(timeline: Timeline) -> dict[str, Any]:
    """The timeline as JSON-safe values, every time UTC ISO 8601 with a Z (as the plan JSON),
    so scripts and the controller can read it without knowing any zone."""
    return {
        "now": iso(timeline.now),
        "from": iso(timeline.start),
        "to": iso(timeline.end),
        "devices": [
            {
                "device": d.device,
                "device_id": d.device_id,
                "timezone": d.timezone,
                "codes": [_entry_data(e) for e in d.entries],
                "next_due": _next_due_data(d.next_due),
            }
            for d in timeline.devices
        ],
        "next_due": _next_due_data(timeline.next_due),
    }


def _entry_data(entry: Entry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "occurrence": iso(entry.occurrence),
        "state": str(entry.state),
        "on_lock": entry.on_lock,
        "programmed_from": iso(entry.programmed_from),
        "starts_at": iso(entry.starts_at),
        "ends_at": iso(entry.ends_at),
        "change": entry.change,
        "due_at": iso(entry.due_at),
        "reasons": list(entry.reasons),
        "source": entry.source,
        "kind": str(entry.kind),
    }


def _next_due_data(next_due: NextDue | None) -> dict[str, Any] | None:
    if next_due is None:
        return None
    return {
        "at": iso(next_due.at),
        "device": next_due.device,
        "name": next_due.name,
        "action": next_due.action,
        "occurrence": iso(next_due.occurrence),
    }
