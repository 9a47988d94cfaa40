"""One PIN per person or stay on all their doors, chosen once the locks' rules are known.

Runs after the locks are read and before the planner, and fills in each holder's PIN on each of
their codes, in this order of trust:

1. the PIN the config gives;
2. the PIN the state store keeps (never derived again: an unreachable lock or a restart does
   not rotate it), unless `accesscodes rotate` asked for a new one;
3. the PIN already set on their doors under their name (a state store that was lost, a first
   run after `import`): the locks are the truth about what a guest was told;
4. the PIN a feed suggests (a guest's phone digits, `code: phone_last4`), if every one of
   their doors takes it and it is not weak;
5. a new random PIN (`secrets`), valid on every one of their doors (the intersection of
   lengths and rules), equal to and prefixing no PIN on any of them; kept at apply.

A PIN that some door of the holder cannot take (a lock that picks its own, lengths that do not
meet, a PIN another code on that door holds) blocks the holder's codes with a reason naming the
holder and the doors, unless the holder opted into a PIN per door. Pure: the store's content
and the random source are passed in.
"""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from reconciler.core.models import (
    Capabilities,
    CodeConstraint,
    DesiredCode,
    DesiredDevice,
    DeviceId,
    Holder,
    LiveDevice,
)
from reconciler.core.rules import generate_pin, pin_violations
from reconciler.planning.schedule import to_utc

Door = tuple[DesiredDevice, DesiredCode]


@dataclass(frozen=True)
class PinAssignment:
    """The devices with every holder's PIN filled in, and the PINs to keep at apply (new or
    read from the locks); `generated`: the holders whose PIN was drawn in this run."""

    devices: tuple[DesiredDevice, ...]
    keep: Mapping[str, str] = field(default_factory=dict, repr=False)
    generated: frozenset[str] = frozenset()


def assign_pins(
    devices: Sequence[DesiredDevice],
    holders: Sequence[Holder],
    live: Mapping[DeviceId, LiveDevice],
    *,
    stored: Mapping[str, str],
    rotations: frozenset[str] = frozenset(),
    choice: Callable[[str], str] = secrets.choice,
    weak: Callable[[str], bool] = lambda pin: False,
    now: datetime | None = None,
    timezone: str = "UTC",
) -> PinAssignment:
    """Each holder's PIN on each of their doors (see the module's order of trust); a drawn
    PIN that `weak` calls weak (the PIN policy's common PINs) is drawn again. With `now`, a
    holder whose every window has ended gets no new PIN (`timezone`: for naive times where
    neither the code, the device nor the lock names a zone)."""
    doors = _doors_by_holder(devices)
    chosen: dict[str, str] = {}
    keep: dict[str, str] = {}
    for holder in holders:
        if holder.given_pin or holder.pin_per_door or holder.key not in doors:
            continue
        pin = None if holder.key in rotations else stored.get(holder.key)
        if pin is None and holder.key not in rotations:
            pin = _from_locks(doors[holder.key], live)
            if pin is not None:
                keep[holder.key] = pin
        if pin is not None:
            chosen[holder.key] = pin
    generated, problems = set(), {}
    for holder in holders:
        if holder.given_pin or holder.pin_per_door or holder.key in chosen:
            continue
        if holder.key not in doors:
            continue
        if now is not None and _all_ended(doors[holder.key], live, now, timezone):
            continue
        suggested = _suggested(holder, doors[holder.key], live, chosen, weak)
        if suggested is not None:
            chosen[holder.key] = keep[holder.key] = suggested
            continue
        draw = _Draw(choice, weak)
        pin, problem = _generate(holder, doors[holder.key], live, chosen, draw)
        if pin is not None:
            chosen[holder.key] = keep[holder.key] = pin
            generated.add(holder.key)
        elif problem is not None:
            problems[holder.key] = problem
    filled = _fill(devices, chosen, generated, problems)
    problems_on_doors = _door_problems(filled, holders, live)
    return PinAssignment(_fill(filled, {}, set(), problems_on_doors), keep, frozenset(generated))


def _doors_by_holder(devices: Sequence[DesiredDevice]) -> dict[str, list[Door]]:
    doors: dict[str, list[Door]] = defaultdict(list)
    for device in devices:
        for code in device.codes:
            if code.holder is not None:
                doors[code.holder.key].append((device, code))
    return doors


def _suggested(
    holder: Holder,
    doors: Sequence[Door],
    live: Mapping[DeviceId, LiveDevice],
    chosen: Mapping[str, str],
    weak: Callable[[str], bool],
) -> str | None:
    """The holder's suggested PIN (a feed's phone digits) if every door they have takes it,
    it is not weak, and it equals or prefixes no other PIN there; else None (one is drawn)."""
    pin = holder.suggested_pin
    if pin is None or weak(pin):
        return None
    for device, _ in doors:
        lock = live.get(device.device_id)
        if lock is None:
            return None  # a door not read this time: its rules are unknown
        others = _pins_on_door(device, holder, live, chosen)
        if pin_violations(pin, lock.device.capabilities, others=others) or any(
            other.startswith(pin) or pin.startswith(other) for other in others
        ):
            return None
    return pin


def _all_ended(
    doors: Sequence[Door], live: Mapping[DeviceId, LiveDevice], now: datetime, timezone: str
) -> bool:
    """Whether every code of a holder has a window that is over: a past stay needs no PIN."""
    for device, code in doors:
        if code.schedule is not None or code.ends_at is None:
            return False
        lock = live.get(device.device_id)
        lock_zone = lock.device.capabilities.timezone if lock is not None else None
        zone = ZoneInfo(code.timezone or device.timezone or lock_zone or timezone)
        if to_utc(code.ends_at, zone) > now:
            return False
    return True


def _from_locks(doors: Sequence[Door], live: Mapping[DeviceId, LiveDevice]) -> str | None:
    """The PIN the holder's codes already have on their doors: the one on most of them."""
    found: Counter[str] = Counter()
    for device, code in doors:
        lock = live.get(device.device_id)
        if lock is None:
            continue
        for code_on_lock in lock.codes:
            if (
                code_on_lock.name == code.name
                and code_on_lock.code
                and code_on_lock.is_managed
                and not code_on_lock.is_offline
                and not code_on_lock.is_backup
            ):
                found[code_on_lock.code] += 1
    return found.most_common(1)[0][0] if found else None


@dataclass(frozen=True)
class _Draw:
    """Where new PINs come from, and which are too weak to hand out."""

    choice: Callable[[str], str]
    weak: Callable[[str], bool]

    def pin(self, caps: Capabilities, taken: set[str]) -> str:
        """A random PIN the merged rules accept, not weak; RuntimeError when none is found."""
        for _ in range(_WEAK_REDRAWS):
            pin = generate_pin(caps, taken=taken, choice=self.choice)
            if not self.weak(pin):
                return pin
            taken = taken | {pin}
        raise RuntimeError("only weak PINs were drawn")


_WEAK_REDRAWS = 100


def _generate(
    holder: Holder,
    doors: Sequence[Door],
    live: Mapping[DeviceId, LiveDevice],
    chosen: Mapping[str, str],
    draw: _Draw,
) -> tuple[str | None, str | None]:
    """A new PIN every one of the holder's doors takes, or why there is none. A door whose
    lock could not be read does not narrow the choice (its codes are blocked this run)."""
    known = [(d, live[d.device_id].device.capabilities) for d, _ in doors if d.device_id in live]
    if not known:
        return None, None
    picky = [d.key for d, caps in known if caps.has_constraint("cannot_specify_pin_code")]
    if picky:
        verb = "picks its" if len(picky) == 1 else "pick their"
        return None, _no_pin(holder, doors, f"{', '.join(picky)} {verb} own PINs")
    merged = _intersection([caps for _, caps in known])
    if not merged.supported_code_lengths:
        lengths = "; ".join(
            f"{d.key}: {'/'.join(map(str, caps.supported_code_lengths))} digits"
            for d, caps in known
        )
        return None, _no_pin(holder, doors, f"their lengths do not meet ({lengths})")
    taken = set()
    for device, _ in doors:
        taken |= _pins_on_door(device, holder, live, chosen)
    try:
        return draw.pin(merged, taken), None
    except RuntimeError:
        return None, _no_pin(holder, doors, "no PIN satisfies all of their locks' rules")


def _no_pin(holder: Holder, doors: Sequence[Door], why: str) -> str:
    names = ", ".join(device.key for device, _ in doors)
    return (
        f"no one PIN fits all doors of {holder.label} ({names}): {why}; "
        "set pin_per_door: true to let each door have its own"
    )


def _intersection(all_caps: Sequence[Capabilities]) -> Capabilities:
    """One set of rules a PIN must meet to be valid on each of these locks."""
    lengths = set(all_caps[0].supported_code_lengths)
    constraints: dict[str, CodeConstraint] = {}
    for caps in all_caps:
        lengths &= set(caps.supported_code_lengths)
        for constraint in caps.code_constraints:
            constraints.setdefault(constraint.kind, constraint)
    return Capabilities(
        manufacturer="+".join(sorted({c.manufacturer for c in all_caps})),
        supported_code_lengths=tuple(sorted(lengths)),
        code_constraints=tuple(constraints.values()),
    )


def _pins_on_door(
    device: DesiredDevice,
    holder: Holder,
    live: Mapping[DeviceId, LiveDevice],
    chosen: Mapping[str, str],
    *,
    beside: DesiredCode | None = None,
) -> set[str]:
    """The PINs of every other code on a door: set on the lock, written in the config, or
    chosen for another holder; with `beside`, only the desired codes whose window may
    overlap that code's (two stays one after the other may share a PIN)."""
    pins = set()
    lock = live.get(device.device_id)
    if lock is not None:
        pins |= {c.code for c in (*lock.codes, *lock.unmanaged) if c.code}
    for code in device.codes:
        if code.holder is not None and code.holder.key == holder.key:
            continue
        if beside is not None and not beside.may_overlap(code):
            continue
        pin = code.code or (chosen.get(code.holder.key) if code.holder else None)
        if pin:
            pins.add(pin)
    return pins


def _fill(
    devices: Sequence[DesiredDevice],
    chosen: Mapping[str, str],
    generated: set[str],
    problems: Mapping[str, str],
) -> tuple[DesiredDevice, ...]:
    """The devices with PINs (and problems) put on their holders' codes; `problems` may be
    keyed by holder (all their doors) or by (holder, device key)."""
    out = []
    for device in devices:
        codes = []
        for code in device.codes:
            key = code.holder.key if code.holder else None
            if key is not None:
                problem = problems.get(key) or problems.get(f"{key}\0{device.key}")
                if key in chosen:
                    code = replace(code, code=chosen[key], new_pin=key in generated)
                if problem is not None:
                    code = replace(code, pin_problem=problem)
            codes.append(code)
        out.append(replace(device, codes=tuple(codes)))
    return tuple(out)


def _door_problems(
    devices: Sequence[DesiredDevice], holders: Sequence[Holder], live: Mapping[DeviceId, LiveDevice]
) -> dict[str, str]:
    """Each door that cannot take its holder's PIN (given, kept or read from the locks),
    keyed by holder and device, with why, naming the holder and the door."""
    problems: dict[str, str] = {}
    for device in devices:
        lock = live.get(device.device_id)
        if lock is None:
            continue
        for code in device.codes:
            holder = code.holder
            if holder is None or code.code is None or code.pin_problem is not None:
                continue
            if any(c.name == code.name and c.code == code.code for c in lock.codes):
                continue  # the lock holds it already
            others = _pins_on_door(device, holder, live, {}, beside=code)
            wanted = {c.name for c in device.codes}
            own = {  # this code on the lock: under its name, or under an old one (a rename)
                c.code
                for c in lock.codes
                if c.name == code.name or (c.is_managed and c.name not in wanted)
            }
            refused = pin_violations(code.code, lock.device.capabilities, others=others - own)
            if refused:
                problems[f"{holder.key}\0{device.key}"] = (
                    f"{holder.label}'s PIN cannot go on {device.key}: {'; '.join(refused)}"
                    + _door_hint(holder)
                )
    return problems


def _door_hint(holder: Holder) -> str:
    """What the user can do about a PIN one door refuses."""
    if holder.given_pin:
        return " (write a PIN every door takes, or give that door its own code)"
    return "" if holder.pin_per_door else " (pin_per_door: true lets it differ)"
