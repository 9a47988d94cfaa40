"""The planner: a pure function from (desired, live, now, settings) to a `Plan`.

No I/O and no clock: everything it needs is passed in, so a plan can be made for any date
(`--now`) and tested with plain values. Only managed codes on listed devices are candidates;
unmanaged codes are reported and never touched; managed codes the config lacks are deleted only
with `settings.prune`. A lock that was not found or could not be read has its codes blocked,
never planned from an empty listing. Each lock is planned in named steps: claim the live codes
(`claims`), decide each wanted code (`decisions`), the leftover codes, the lock's drift, then fit
the writes into its slots and order them (`capacity`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from reconciler.core.collector import fewer_collections
from reconciler.core.models import DesiredDevice, DeviceId, LiveCode, LiveDevice
from reconciler.core.plan import WRITES, Action, Change, CodeState, Drift, DriftKind, Plan
from reconciler.core.settings import Settings
from reconciler.core.written import whole
from reconciler.planning.capacity import fit_slots, order_writes
from reconciler.planning.claims import claim_live_codes
from reconciler.planning.decisions import LockPlan, decide, moment_text, offline_locked
from reconciler.planning.drift import LastWritten, live_drift, lock_drift
from reconciler.planning.schedule import device_zone, targets


def plan(
    desired: Sequence[DesiredDevice],
    live: Mapping[DeviceId, LiveDevice],
    *,
    now: datetime,
    settings: Settings,
    last_written: LastWritten | None = None,
) -> Plan:
    """Compare each listed device's desired codes with its live ones, in config order.

    The objects alive when planning starts (the config and the live codes: millions on a
    large fleet) are frozen for the garbage collector meanwhile; its full collections would
    otherwise walk them over and over while the plan is built (reference counting still
    frees everything as usual).
    """
    with fewer_collections():
        return _plan(desired, live, now=now, settings=settings, last_written=last_written)


def _plan(
    desired: Sequence[DesiredDevice],
    live: Mapping[DeviceId, LiveDevice],
    *,
    now: datetime,
    settings: Settings,
    last_written: LastWritten | None,
) -> Plan:
    changes: list[Change] = []
    drift: list[Drift] = []
    for device in desired:
        device_changes, device_drift = plan_device(
            device,
            live.get(device.device_id),
            now=now,
            settings=settings,
            last_written=last_written,
        )
        changes.extend(device_changes)
        drift.extend(device_drift)
    return Plan(now=now, changes=tuple(changes), drift=tuple(drift))


def plan_device(
    device: DesiredDevice,
    live_device: LiveDevice | None,
    *,
    now: datetime,
    settings: Settings,
    last_written: LastWritten | None = None,
) -> tuple[list[Change], list[Drift]]:
    """One listed device's changes and drift, as `plan` makes them for each in turn (None: the
    provider does not know the device). A device depends on no other, so a large fleet can
    plan each lock as soon as it is read (`apply.run.plan_run`) and put the parts together in
    config order: the same plan."""
    device = whole(device)  # its codes are walked more than once
    if live_device is None:
        return _device_not_found(device), []
    if live_device.read_error is not None:
        return _unreadable(device, live_device, now=now, settings=settings), []
    return _plan_device(device, live_device, now=now, settings=settings, last_written=last_written)


def _device_not_found(device: DesiredDevice) -> list[Change]:
    """Every code of a lock the provider does not know, blocked with why."""
    reason = f"device {device.device_id} was not found by the provider"
    return [
        Change(
            action=Action.BLOCKED,
            device=device.key,
            device_id=device.device_id,
            name=code.name,
            reasons=(reason,),
            source=code.source,
        )
        for code in device.codes
    ]


def _unreadable(
    device: DesiredDevice, live_device: LiveDevice, *, now: datetime, settings: Settings
) -> list[Change]:
    """A lock whose codes could not be read: each code it should hold (each occurrence, for a
    recurring code) is blocked with the reason; nothing is created, deleted or called drift."""
    caps = live_device.device.capabilities
    zone = str(device_zone(device, caps, settings))
    reason = f"could not read the lock: {live_device.read_error}"
    return [
        Change(
            action=Action.BLOCKED,
            device=device.key,
            device_id=device.device_id,
            name=target.code.name,
            reasons=(reason,),
            after=CodeState.of_spec(target.spec),
            occurrence=target.occurrence,
            timezone=zone,
            source=target.source,
        )
        for target in targets(device, caps, settings, now=now)
        if target.spec.ends_at is None or target.spec.ends_at > now
    ]


def _plan_device(
    device: DesiredDevice,
    live_device: LiveDevice,
    *,
    now: datetime,
    settings: Settings,
    last_written: LastWritten | None,
) -> tuple[list[Change], list[Drift]]:
    """One lock: claim, decide each wanted code, the leftovers, the lock's drift, slots, order."""
    caps = live_device.device.capabilities
    wanted = targets(device, caps, settings, now=now)
    lock = LockPlan(
        device,
        live_device,
        device_zone(device, caps, settings),
        now,
        settings,
        desired_pins=tuple(t.spec.code for t in wanted if t.spec.code),
        other_pins=tuple(c.code for c in live_device.unmanaged if c.code),
    )
    managed = [c for c in live_device.codes if c.is_managed and not c.is_backup]
    claims, unclaimed = claim_live_codes(wanted, managed, now=now)
    changes: list[Change] = []
    drift: list[Drift] = []
    for target, claim in zip(wanted, claims, strict=True):
        if claim is not None:
            drift.extend(live_drift(device, claim.live, last_written, now))
        changes.extend(decide(lock, target, claim))
    for extra in unclaimed:
        extra_changes, extra_drift = _extraneous(lock, extra, last_written)
        changes.extend(extra_changes)
        drift.extend(extra_drift)
    drift.extend(lock_drift(device, live_device, last_written, now))
    writes, refused = fit_slots([c for c in changes if c.action in WRITES], live_device, caps, now)
    quiet = [c for c in changes if c.action not in WRITES]
    return order_writes(writes, live_device, caps) + quiet + refused, drift


def _extraneous(
    lock: LockPlan, extra: LiveCode, last_written: LastWritten | None
) -> tuple[list[Change], list[Drift]]:
    """A managed code no wanted code claimed: drift, and deleted with `prune` (an issued
    offline code cannot be: blocked). One whose window has ended is left to the lock."""
    if extra.ends_at is not None and extra.ends_at <= lock.now:
        return [], []  # expired: the lock or Seam removes it; that is not drift
    device = lock.device
    drift = [
        Drift(
            device.key,
            extra.name,
            DriftKind.EXTRANEOUS,
            "managed code on a listed device that the config does not mention",
            extra.access_code_id,
        )
    ]
    changes = []
    values = {"name": extra.name, "access_code_id": extra.access_code_id}
    if lock.settings.prune and extra.is_offline:
        changes.append(
            lock.change(
                Action.BLOCKED,
                None,
                before=CodeState.of_live(extra),
                reasons=(offline_locked(extra),),
                **values,
            )
        )
    elif lock.settings.prune:
        changes.append(
            lock.change(
                Action.DELETE,
                None,
                before=CodeState.of_live(extra),
                reasons=("not in the config (prune: true)",),
                guard=_active_guard(extra, lock.now),
                **values,
            )
        )
    drift.extend(live_drift(device, extra, last_written, lock.now))
    return changes, drift


def _active_guard(live: LiveCode, now: datetime) -> str | None:
    """A delete that would lock out someone whose window is open right now."""
    if (
        live.starts_at is not None
        and live.ends_at is not None
        and live.starts_at <= now < live.ends_at
    ):
        return (
            f"its window is active now (until {moment_text(live.ends_at)}): apply needs --force, "
            "or keep it in the config with revoke: true"
        )
    return None
