"""What the planner does with one code the config wants, once it knows which live code it is.

One function per outcome: a revoke, a window that has ended, a rule that refuses the code, a
create (now or at its lead time), a rename (in place, or create-then-delete on a lock that
cannot rename), an update of the fields that differ, or nothing to do. Pure, like the planner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.core.models import Capabilities, CodeSpec, DesiredDevice, LiveCode, LiveDevice
from reconciler.core.plan import Action, Change, CodeState, iso
from reconciler.core.rules import name_violations, offline_rounding, pin_violations, spec_violations
from reconciler.core.settings import Settings, format_duration
from reconciler.planning.claims import Claim
from reconciler.planning.schedule import Target

RETRYABLE_ERRORS = frozenset({"failed_to_set_on_device", "no_space_for_access_code_on_device"})
"""Errors on a code that sending the same values again can cure. A duplicate PIN
(`duplicate_code_on_device`) is not one: the lock refuses that PIN every time, so the code is
reported as drift (failed_to_set) instead of being sent run after run."""


@dataclass(frozen=True)
class LockPlan:
    """One device being planned: the config's side, the lock's side and the moment, with
    the PINs a new PIN must not repeat (other desired codes, codes set outside accesscodes)."""

    device: DesiredDevice
    live: LiveDevice
    zone: ZoneInfo
    now: datetime
    settings: Settings
    desired_pins: tuple[str, ...] = ()
    other_pins: tuple[str, ...] = ()

    @property
    def caps(self) -> Capabilities:
        """What the lock accepts."""
        return self.live.device.capabilities

    def change(self, action: Action, target: Target | None, **values: Any) -> Change:
        """A change on this device: for a target (its name, occurrence and config line) or,
        with `name=`, for a live code the config does not mention."""
        return Change(
            action=action,
            device=self.device.key,
            device_id=self.device.device_id,
            name=target.code.name if target else str(values.pop("name")),
            occurrence=target.occurrence if target else None,
            timezone=str(self.zone),
            source=target.source if target else None,
            holder=target.code.holder.label if target and target.code.holder else None,
            **values,
        )


def decide(lock: LockPlan, target: Target, claim: Claim | None) -> list[Change]:
    """The changes for one target, given the live code it claimed (None: not on the lock)."""
    match = claim.live if claim is not None else None
    renamed = claim is not None and claim.renamed
    spec = target.spec
    if target.code.revoke:
        return [_revoke(lock, target, match)] if match is not None else []
    if spec.ends_at is not None and spec.ends_at <= lock.now:
        return _window_ended(lock, target, match)
    problems = _violations(lock, target, match, renamed=renamed)
    if problems:
        return [
            lock.change(
                Action.BLOCKED,
                target,
                reasons=tuple(problems),
                access_code_id=match.access_code_id if match else None,
                before=CodeState.of_live(match) if match else None,
                after=CodeState.of_spec(spec),
            )
        ]
    if match is None:
        return [_create(lock, target)]
    if renamed:
        return _rename(lock, target, match)
    return [_update_or_noop(lock, target, match)]


def _revoke(lock: LockPlan, target: Target, match: LiveCode) -> Change:
    """`revoke: true`: take the code off the lock now, even inside its window."""
    if target.code.protected:
        reason = "protected: true codes are never deleted by a plan; remove protected to revoke"
    elif match.is_offline:
        reason = offline_locked(match)
    else:
        return lock.change(
            Action.DELETE,
            target,
            access_code_id=match.access_code_id,
            before=CodeState.of_live(match),
            reasons=("revoke: true",),
        )
    return lock.change(
        Action.BLOCKED,
        target,
        access_code_id=match.access_code_id,
        before=CodeState.of_live(match),
        reasons=(reason,),
    )


def _window_ended(lock: LockPlan, target: Target, match: LiveCode | None) -> list[Change]:
    """A window that is over: the code comes off the lock (due since the window's end)."""
    if match is None or match.is_offline or target.code.protected:
        return []
    return [
        lock.change(
            Action.DELETE,
            target,
            access_code_id=match.access_code_id,
            before=CodeState.of_live(match),
            reasons=("its window has ended",),
            due_since=target.spec.ends_at,
        )
    ]


def _create(lock: LockPlan, target: Target, replacing: LiveCode | None = None) -> Change:
    """Put the code on the lock, at its lead time if that is still to come. A replacement
    (`replacing`: the code it takes over from) goes on now: that code is on the lock already."""
    spec, now, program_at = _with_backup_pool(lock, target.spec), lock.now, target.program_at
    scheduled = replacing is None and program_at is not None
    due_at = program_at if scheduled and program_at is not None and program_at > now else None
    due_since = program_at if scheduled and program_at is not None and program_at <= now else None
    if replacing is not None:
        reasons = [f"replaces {replacing.name!r}, as the lock cannot rename a code"]
    else:
        reasons = ["missing on device"]
    if due_at is not None:
        reasons[0] += f"; programmed {_lead(target, due_at)} before it starts"
    warnings = list(target.warnings)
    if spec.offline:
        rounding = spec.time_rounding or offline_rounding(spec, lock.zone)
        bound = "daily" if rounding == "1d" else "hourly"
        kind = "one-time" if spec.one_time_use else f"{bound}-bound"
        reasons.append(f"issues a {kind} offline code")
        warnings.append(
            "irreversible: an offline code cannot be changed or revoked; "
            f"it stays valid until {moment_text(spec.ends_at)}"
        )
    return lock.change(
        Action.CREATE,
        target,
        due_at=due_at,
        due_since=due_since,
        reasons=tuple(reasons),
        warnings=tuple(warnings),
        after=CodeState.of_spec(spec),
        spec=spec,
    )


def _with_backup_pool(lock: LockPlan, spec: CodeSpec) -> CodeSpec:
    """The spec with Seam's backup pool on where `settings.backup_codes` asks for it and the
    lock has one, so a backup code can be pulled if this code fails to set; only for an online
    time-bound code, the one kind Seam pulls backups for."""
    wanted = lock.settings.backup_codes and lock.caps.backup_pool
    if not wanted or spec.offline or spec.starts_at is None or spec.ends_at is None:
        return spec
    return replace(spec, use_backup_pool=True)


def _rename(lock: LockPlan, target: Target, old: LiveCode) -> list[Change]:
    """The same PIN under a new name: rename the live code in place; where the lock cannot,
    create the new code, then delete the old one once the new one is set (`replaced_by`)."""
    spec = target.spec
    window = _changed_fields(target, old)
    if not lock.caps.rename_in_place:
        delete = lock.change(
            Action.DELETE,
            None,
            name=old.name,
            access_code_id=old.access_code_id,
            before=CodeState.of_live(old),
            reasons=(f"replaced by {spec.name!r}: removed once that code is set on the lock",),
            replaced_by=spec.name,
        )
        return [_create(lock, target, replacing=old), delete]
    reasons = [f"renamed from {old.name!r}; the same PIN stays on the lock"]
    if window:
        reasons.append(_differ(window))
    return [
        lock.change(
            Action.UPDATE,
            target,
            access_code_id=old.access_code_id,
            before=CodeState.of_live(old),
            after=CodeState.of_spec(spec),
            changed=("name", *window),
            reasons=tuple(reasons),
            spec=spec,
            renamed_from=old.name,
        )
    ]


def _update_or_noop(lock: LockPlan, target: Target, match: LiveCode) -> Change:
    """The code is on the lock under its name: update what differs, or leave it."""
    changed = _changed_fields(target, match)
    if not changed and any(e.code in RETRYABLE_ERRORS for e in match.errors):
        changed = ["status"]  # the lock failed to take it: send it again
    values: dict[str, Any] = {
        "access_code_id": match.access_code_id,
        "before": CodeState.of_live(match),
        "after": CodeState.of_spec(target.spec),
    }
    if not changed:
        return lock.change(Action.NOOP, target, **values)
    if match.is_offline:
        return lock.change(
            Action.BLOCKED,
            target,
            changed=tuple(changed),
            reasons=(offline_locked(match),),
            **values,
        )
    reason = (
        "the lock failed to set it: sending it again" if changed == ["status"] else _differ(changed)
    )
    if "code" in changed and target.code.new_pin and target.code.holder is not None:
        reason = f"a new PIN for {target.code.holder.label} (accesscodes rotate, or none was kept)"
    return lock.change(
        Action.UPDATE,
        target,
        changed=tuple(changed),
        reasons=(reason,),
        spec=target.spec,
        **values,
    )


def _violations(
    lock: LockPlan, target: Target, match: LiveCode | None, *, renamed: bool
) -> list[str]:
    """Why the lock would refuse what this target writes: a new PIN, a new name, a new code."""
    spec, caps = target.spec, lock.caps
    problems = []
    if target.code.pin_problem is not None:
        # A person's or stay's PIN is checked on each of their doors by `planning.pins`.
        problems.append(target.code.pin_problem)
    elif (
        target.code.holder is None
        and spec.code is not None
        and not (match is not None and match.code == spec.code)
    ):
        others = [*lock.other_pins, *(p for p in lock.desired_pins if p != spec.code)]
        problems += pin_violations(spec.code, caps, others=others)
    if match is None or renamed:
        problems += name_violations(spec.name, caps, others=_names_on_lock(lock, target, match))
    if match is None or (renamed and not caps.rename_in_place):
        problems += spec_violations(spec, caps, lock.zone)
    return problems


def _names_on_lock(lock: LockPlan, target: Target, match: LiveCode | None) -> Sequence[str]:
    """The names a new or renamed code must not repeat where names must be unique: every
    other code on the lock, except the one renamed or replaced (`match`) and a code of the
    same name that has ended by the time this one is written (an earlier occurrence)."""
    if not lock.caps.has_constraint("name_must_be_unique"):
        return ()
    when = max(lock.now, target.program_at or lock.now) if match is None else lock.now
    skip = match.access_code_id if match is not None else None
    return [
        code.name
        for code in (*lock.live.codes, *lock.live.unmanaged)
        if code.access_code_id != skip
        and not (
            code.is_managed
            and code.name == target.code.name
            and code.ends_at is not None
            and code.ends_at <= when
        )
    ]


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


def _differ(changed: Sequence[str]) -> str:
    return f"{', '.join(changed)} {'differs' if len(changed) == 1 else 'differ'} from the config"


def _lead(target: Target, due_at: datetime) -> str:
    assert target.spec.starts_at is not None
    return format_duration(target.spec.starts_at - due_at)


def offline_locked(code: LiveCode) -> str:
    """Why an issued offline code stays as it is: the lock's algorithm cannot take it back."""
    return (
        "an issued offline code cannot be revoked or changed; it stays valid until "
        f"{moment_text(code.ends_at)}"
    )


def moment_text(moment: datetime | None) -> str:
    """A time as reasons write it (UTC ISO 8601), or "its end" for an open end."""
    return iso(moment) or "its end"
