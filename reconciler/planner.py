"""The planner: a pure function from (desired, live, now, settings) to a `Plan`.

No I/O and no clock: everything it needs is passed in, so a plan can be made for any date
(`--now`) and tested with plain values. Only managed codes on listed devices are candidates;
unmanaged codes are reported and never touched; managed codes the config lacks are deleted only
with `settings.prune`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from reconciler.models import (
    Capabilities,
    DesiredDevice,
    DeviceId,
    LiveCode,
    LiveDevice,
)
from reconciler.plan import Action, Change, CodeState, Drift, DriftKind, Plan, iso
from reconciler.rules import name_violations, pin_violations
from reconciler.schedule import Target, device_zone, targets
from reconciler.settings import Settings, format_duration

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


def plan(
    desired: Sequence[DesiredDevice],
    live: Mapping[DeviceId, LiveDevice],
    *,
    now: datetime,
    settings: Settings,
) -> Plan:
    """Compare each listed device's desired codes with its live ones, in config order."""
    changes: list[Change] = []
    drift: list[Drift] = []
    for device in desired:
        live_device = live.get(device.device_id)
        if live_device is None:
            changes.extend(_device_not_found(device))
            continue
        device_changes, device_drift = _plan_device(device, live_device, now=now, settings=settings)
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
    device: DesiredDevice, live_device: LiveDevice, *, now: datetime, settings: Settings
) -> tuple[list[Change], list[Drift]]:
    caps = live_device.device.capabilities
    zone = str(device_zone(device, caps, settings))
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
            drift.extend(_live_drift(device, match))
        spec = target.spec
        if spec.ends_at is not None and spec.ends_at <= now:
            if match is not None:
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
        problems = _violations(target, caps, match, desired_pins, other_pins, now)
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
            reason = "missing on device"
            if due_at is not None:
                reason += f"; programmed {_lead(target, due_at)} before it starts"
            writes.append(
                change(
                    Action.CREATE,
                    target,
                    due_at=due_at,
                    reasons=(reason,),
                    after=CodeState.of_spec(spec),
                    spec=spec,
                )
            )
            continue
        changed = _changed_fields(target, match)
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
                    reasons=(
                        "an issued offline code cannot be changed or revoked; it stays valid "
                        f"until {_fmt(match.ends_at)}",
                    ),
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
                        f"{', '.join(changed)} {'differs' if len(changed) == 1 else 'differ'} "
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
        if settings.prune:
            writes.append(
                change(
                    Action.DELETE,
                    None,
                    name=extra.name,
                    access_code_id=extra.access_code_id,
                    before=CodeState.of_live(extra),
                    reasons=("not in the config (prune: true)",),
                )
            )
        drift.extend(_live_drift(device, extra))
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
    return _order(writes, live_device, caps) + quiet, drift


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
    match: LiveCode | None,
    desired_pins: list[str],
    other_pins: list[str],
    now: datetime,
) -> list[str]:
    spec = target.spec
    problems = []
    if spec.code is not None and not (match is not None and match.code == spec.code):
        others = list(other_pins) + [p for p in desired_pins if p != spec.code]
        problems += pin_violations(spec.code, caps, others=others)
    if match is None:
        problems += name_violations(spec.name, caps)
    if spec.offline and not caps.offline_codes:
        problems.append(f"{caps.manufacturer} locks do not support offline codes")
    if spec.one_time_use and not caps.one_time_codes:
        problems.append(f"{caps.manufacturer} locks do not support one-time codes")
    if not spec.offline and not caps.online_codes:
        problems.append(f"{caps.manufacturer} locks take only offline codes: add offline: true")
    if spec.ends_at is not None and caps.time_bound_needs_timezone and not caps.timezone:
        problems.append("Time zone required for time-bound access codes on Ultraloq devices")
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


def _live_drift(device: DesiredDevice, live: LiveCode) -> list[Drift]:
    found = []
    for warning in live.warnings:
        if warning.code in _WARNING_DRIFT:
            kind, detail = _WARNING_DRIFT[warning.code]
            found.append(Drift(device.key, live.name, kind, detail, live.access_code_id))
    for error in live.errors:
        kind = _ERROR_DRIFT.get(error.code, DriftKind.FAILED_TO_SET)
        detail = f"{error.code}: {error.message}" if error.message else error.code
        found.append(Drift(device.key, live.name, kind, detail, live.access_code_id))
    return found


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


def _fmt(moment: datetime | None) -> str:
    return iso(moment) or "its end"
