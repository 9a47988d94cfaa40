"""The planner: a pure function from (desired, live, now, settings) to a `Plan`.

No I/O and no clock: everything it needs is passed in, so a plan can be made for any date
(`--now`) and tested with plain values. Only managed codes on listed devices are candidates;
unmanaged codes are reported and never touched; managed codes the config lacks are deleted only
with `settings.prune`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from reconciler.capacity import Interval, first_clash
from reconciler.drift import LastWritten, live_drift
from reconciler.models import (
    Capabilities,
    DesiredDevice,
    DeviceId,
    LiveCode,
    LiveDevice,
)
from reconciler.plan import Action, Change, CodeState, Drift, DriftKind, Plan, iso
from reconciler.rules import name_violations, offline_rounding, pin_violations, spec_violations
from reconciler.schedule import Target, device_zone, targets
from reconciler.settings import Settings, format_duration

RETRYABLE_ERRORS = frozenset(
    {
        "failed_to_set_on_device",
        "duplicate_code_on_device",
        "no_space_for_access_code_on_device",
    }
)


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
    with _heap_frozen():
        return _plan(desired, live, now=now, settings=settings, last_written=last_written)


@contextmanager
def _heap_frozen() -> Iterator[None]:
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


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
        live_device = live.get(device.device_id)
        if live_device is None:
            changes.extend(_device_not_found(device))
            continue
        device_changes, device_drift = _plan_device(
            device, live_device, now=now, settings=settings, last_written=last_written
        )
        changes.extend(device_changes)
        drift.extend(device_drift)
    return Plan(now=now, changes=tuple(changes), drift=tuple(drift))


def _device_not_found(device: DesiredDevice) -> list[Change]:
    return [
        Change(
            action=Action.BLOCKED,
            device=device.key,
            device_id=device.device_id,
            name=code.name,
            reasons=(f"device {device.device_id} was not found by the provider",),
            source=code.source,
        )
        for code in device.codes
    ]


def _plan_device(
    device: DesiredDevice,
    live_device: LiveDevice,
    *,
    now: datetime,
    settings: Settings,
    last_written: LastWritten | None,
) -> tuple[list[Change], list[Drift]]:
    caps = live_device.device.capabilities
    zone_info = device_zone(device, caps, settings)
    zone = str(zone_info)
    managed = [c for c in live_device.codes if c.is_managed and not c.is_backup]
    unclaimed = list(managed)
    other_pins = [c.code for c in live_device.unmanaged if c.code]
    writes: list[Change] = []
    quiet: list[Change] = []
    drift: list[Drift] = []

    def change(action: Action, target: Target | None, **values: object) -> Change:
        return Change(
            action=action,
            device=device.key,
            device_id=device.device_id,
            name=target.code.name if target else str(values.pop("name")),
            occurrence=target.occurrence if target else None,
            timezone=zone,
            source=target.source if target else None,
            **values,  # type: ignore[arg-type]
        )

    wanted = targets(device, caps, settings, now=now)
    desired_pins = [t.spec.code for t in wanted if t.spec.code]
    for target in wanted:
        match = _claim(target, unclaimed)
        if match is not None:
            drift.extend(live_drift(device, match, last_written, now))
        spec = target.spec
        if target.code.revoke:
            if match is not None:
                quiet_or_write = _revoke(target, match, change)
                (quiet if quiet_or_write.action is Action.BLOCKED else writes).append(
                    quiet_or_write
                )
            continue
        if spec.ends_at is not None and spec.ends_at <= now:
            if match is not None and not match.is_offline and not target.code.protected:
                writes.append(
                    change(
                        Action.DELETE,
                        target,
                        access_code_id=match.access_code_id,
                        before=CodeState.of_live(match),
                        reasons=("its window has ended",),
                    )
                )
            continue
        problems = _violations(target, caps, zone_info, match, desired_pins, other_pins)
        if problems:
            quiet.append(
                change(
                    Action.BLOCKED,
                    target,
                    reasons=tuple(problems),
                    access_code_id=match.access_code_id if match else None,
                    before=CodeState.of_live(match) if match else None,
                    after=CodeState.of_spec(spec),
                )
            )
            continue
        if match is None:
            due_at = target.program_at if target.program_at and target.program_at > now else None
            reasons = ["missing on device"]
            warnings = []
            if due_at is not None:
                reasons[0] += f"; programmed {_lead(target, due_at)} before it starts"
            if spec.offline:
                rounding = spec.time_rounding or offline_rounding(spec, zone_info)
                bound = "daily" if rounding == "1d" else "hourly"
                kind = "one-time" if spec.one_time_use else f"{bound}-bound"
                reasons.append(f"issues a {kind} offline code")
                warnings.append(
                    "irreversible: an offline code cannot be changed or revoked; "
                    f"it stays valid until {_fmt(spec.ends_at)}"
                )
            writes.append(
                change(
                    Action.CREATE,
                    target,
                    due_at=due_at,
                    reasons=tuple(reasons),
                    warnings=tuple(warnings),
                    after=CodeState.of_spec(spec),
                    spec=spec,
                )
            )
            continue
        changed = _changed_fields(target, match)
        if not changed and any(e.code in RETRYABLE_ERRORS for e in match.errors):
            changed = ["status"]  # the lock failed to take it: send it again
        after = CodeState.of_spec(spec)
        if changed and match.is_offline:
            quiet.append(
                change(
                    Action.BLOCKED,
                    target,
                    access_code_id=match.access_code_id,
                    before=CodeState.of_live(match),
                    after=after,
                    changed=tuple(changed),
                    reasons=(_offline_locked(match),),
                )
            )
        elif changed:
            writes.append(
                change(
                    Action.UPDATE,
                    target,
                    access_code_id=match.access_code_id,
                    before=CodeState.of_live(match),
                    after=after,
                    changed=tuple(changed),
                    reasons=(
                        "the lock failed to set it: sending it again"
                        if changed == ["status"]
                        else f"{', '.join(changed)} {'differs' if len(changed) == 1 else 'differ'} "
                        "from the config",
                    ),
                    spec=spec,
                )
            )
        else:
            quiet.append(
                change(
                    Action.NOOP,
                    target,
                    access_code_id=match.access_code_id,
                    before=CodeState.of_live(match),
                    after=after,
                )
            )
    for extra in unclaimed:
        if extra.ends_at is not None and extra.ends_at <= now:
            continue  # expired: the lock or Seam removes it; that is not drift
        drift.append(
            Drift(
                device.key,
                extra.name,
                DriftKind.EXTRANEOUS,
                "managed code on a listed device that the config does not mention",
                extra.access_code_id,
            )
        )
        if settings.prune and extra.is_offline:
            quiet.append(
                change(
                    Action.BLOCKED,
                    None,
                    name=extra.name,
                    access_code_id=extra.access_code_id,
                    before=CodeState.of_live(extra),
                    reasons=(_offline_locked(extra),),
                )
            )
        elif settings.prune:
            writes.append(
                change(
                    Action.DELETE,
                    None,
                    name=extra.name,
                    access_code_id=extra.access_code_id,
                    before=CodeState.of_live(extra),
                    reasons=("not in the config (prune: true)",),
                    guard=_active_guard(extra, now),
                )
            )
        drift.extend(live_drift(device, extra, last_written, now))
    if last_written is not None:
        for gone in last_written.vanished(live_device, now):
            drift.append(
                Drift(
                    device.key,
                    gone.name,
                    DriftKind.MISSING,
                    "written by accesscodes and no longer on the lock",
                    gone.access_code_id,
                )
            )
    for other in live_device.unmanaged:
        drift.append(
            Drift(
                device.key,
                other.name,
                DriftKind.UNMANAGED_CODE,
                "code set outside accesscodes; it is never changed or deleted",
                other.access_code_id,
            )
        )
    writes, refused = _fit_slots(writes, live_device, caps, now)
    return _order(writes, live_device, caps) + quiet + refused, drift


def _fit_slots(
    writes: list[Change], live_device: LiveDevice, caps: Capabilities, now: datetime
) -> tuple[list[Change], list[Change]]:
    """Block the creates that would overflow the lock's slots at some moment, saying when."""
    limit = caps.max_active_codes
    if limit is None:
        return writes, []
    deleted = {c.access_code_id for c in writes if c.action is Action.DELETE and c.due_at is None}
    occupied: list[Interval] = [
        (now, code.ends_at)
        for code in (*live_device.codes, *live_device.unmanaged)
        if code.access_code_id not in deleted
    ]
    kept: list[Change] = []
    refused: list[Change] = []
    for write in writes:
        if write.action is not Action.CREATE or write.after is None:
            kept.append(write)
            continue
        interval = (max(now, write.due_at or now), write.after.ends_at)
        clash = first_clash(occupied, interval, limit)
        if clash is None:
            occupied.append(interval)
            kept.append(write)
            continue
        refused.append(
            replace(
                write,
                action=Action.BLOCKED,
                due_at=None,
                spec=None,
                reasons=(
                    f"no free slot: the lock holds at most {limit} codes and all are "
                    f"programmed at {_fmt(clash)}",
                ),
            )
        )
    return kept, refused


def _revoke(target: Target, match: LiveCode, change: Callable[..., Change]) -> Change:
    """`revoke: true`: take the code off the lock now, even inside its window."""
    if target.code.protected:
        reason = "protected: true codes are never deleted by a plan; remove protected to revoke"
    elif match.is_offline:
        reason = _offline_locked(match)
    else:
        return change(
            Action.DELETE,
            target,
            access_code_id=match.access_code_id,
            before=CodeState.of_live(match),
            reasons=("revoke: true",),
        )
    return change(
        Action.BLOCKED,
        target,
        access_code_id=match.access_code_id,
        before=CodeState.of_live(match),
        reasons=(reason,),
    )


def _active_guard(live: LiveCode, now: datetime) -> str | None:
    """A delete that would lock out someone whose window is open right now."""
    if (
        live.starts_at is not None
        and live.ends_at is not None
        and live.starts_at <= now < live.ends_at
    ):
        return (
            f"its window is active now (until {_fmt(live.ends_at)}): apply needs --force, "
            "or keep it in the config with revoke: true"
        )
    return None


def _claim(target: Target, unclaimed: list[LiveCode]) -> LiveCode | None:
    """Take the live code that is this target: same name (and same start, for an occurrence)."""
    for live in unclaimed:
        if live.name != target.code.name:
            continue
        if target.occurrence is not None and live.starts_at != target.occurrence:
            continue
        unclaimed.remove(live)
        return live
    return None


def _violations(
    target: Target,
    caps: Capabilities,
    zone: ZoneInfo,
    match: LiveCode | None,
    desired_pins: list[str],
    other_pins: list[str],
) -> list[str]:
    spec = target.spec
    problems = []
    if spec.code is not None and not (match is not None and match.code == spec.code):
        others = list(other_pins) + [p for p in desired_pins if p != spec.code]
        problems += pin_violations(spec.code, caps, others=others)
    if match is None:
        problems += name_violations(spec.name, caps)
        problems += spec_violations(spec, caps, zone)
    return problems


def _changed_fields(target: Target, live: LiveCode) -> list[str]:
    spec = target.spec
    changed = []
    if spec.code is not None and live.code is not None and live.code != spec.code:
        changed.append("code")
    if spec.starts_at != live.starts_at and not (spec.ends_at is None and live.ends_at is None):
        changed.append("starts_at")
    if spec.ends_at != live.ends_at:
        changed.append("ends_at")
    return changed


def _order(writes: list[Change], live_device: LiveDevice, caps: Capabilities) -> list[Change]:
    """Creates before deletes (a replacement exists before the old code goes), unless the
    lock is short of slots, when deletes go first to make room."""
    creates = sum(1 for c in writes if c.action is Action.CREATE)
    in_use = len(live_device.codes) + len(live_device.unmanaged)
    tight = caps.max_active_codes is not None and in_use + creates > caps.max_active_codes
    rank = (
        {Action.DELETE: 0, Action.UPDATE: 1, Action.CREATE: 2}
        if tight
        else {Action.CREATE: 0, Action.UPDATE: 1, Action.DELETE: 2}
    )
    return sorted(writes, key=lambda c: rank[c.action])


def _lead(target: Target, due_at: datetime) -> str:
    assert target.spec.starts_at is not None
    return format_duration(target.spec.starts_at - due_at)


def _offline_locked(code: LiveCode) -> str:
    """Why an issued offline code stays as it is: the lock's algorithm cannot take it back."""
    return (
        "an issued offline code cannot be revoked or changed; it stays valid until "
        f"{_fmt(code.ends_at)}"
    )


def _fmt(moment: datetime | None) -> str:
    return iso(moment) or "its end"
