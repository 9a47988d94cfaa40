"""People in an import: one name with one PIN on several doors is written once, under `people:`.

A resident who opens three doors is one person to whoever reads the config, and a PIN changed
in one place cannot then drift apart on the other doors. A name becomes a person only when the
config compiled from it is exactly what the locks hold, so the first plan after the import
stays empty: every code of that name (on every imported door) is managed, online, not a
backup, has its PIN revealed, and has the same PIN and the same fields (window, one-time use).
Anything else keeps the name per device, as the config loader refuses a person's name that is
also written under a device. A person's `${VAR}` that another code's would also be keeps the
name per device too, rather than fail an import that worked before people existed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.core.models import DeviceKey, LiveCode
from reconciler.core.plan import iso


@dataclass(frozen=True)
class Person:
    """One `people:` entry: a name, its PIN, its doors (sorted) and its shared field lines."""

    name: str
    pin: str
    doors: tuple[DeviceKey, ...]
    fields: tuple[str, ...]


def _variable(raw: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^A-Z0-9]", "_", raw.upper())).strip("_")


def env_name(key: str, name: str) -> str:
    """`${FRONT_DOOR_GUEST_BOB_PIN}`: a variable name from a device key and a code name."""
    return _variable(f"{key}_{name}_PIN")


def person_env_name(name: str) -> str:
    """`${ALICE_PIN}`: a person's one PIN is no door's, so its variable names no device."""
    return _variable(f"{name}_PIN")


def code_fields(code: LiveCode) -> list[str]:
    """The `key: value` lines after a code's name and PIN, shared by a device's entry and a
    person's, so that a person is only formed from codes that would be written alike."""
    out: list[str] = []
    if code.is_one_time_use:
        out.append("one_time_use: true")
    if code.starts_at is not None and (code.ends_at is not None or code.is_one_time_use):
        out.append(f"starts_at: {iso(code.starts_at)}")
    if code.ends_at is not None and not code.is_one_time_use:
        out.append(f"ends_at: {iso(code.ends_at)}")
    return out


def device_variables(entries: Sequence[tuple[DeviceKey, Sequence[LiveCode]]]) -> set[str]:
    """Every variable the per-device entries would use if no code were merged into a person."""
    return {
        env_name(key, code.name)
        for key, codes in entries
        for code in codes
        if code.code and not code.is_offline
    }


def find_people(
    entries: Sequence[tuple[DeviceKey, Sequence[LiveCode]]], *, literal: bool
) -> list[Person]:
    """The names to write once under `people:`, sorted by name; `entries` are each device's
    config entries (already free of two codes with one name on a lock)."""
    groups: dict[str, list[tuple[DeviceKey, LiveCode]]] = {}
    for key, codes in entries:
        for code in codes:
            groups.setdefault(code.name, []).append((key, code))
    taken = set() if literal else device_variables(entries)
    people: list[Person] = []
    for name in sorted(groups):
        person = _person(name, groups[name])
        if person is None:
            continue
        if not literal:
            variable = person_env_name(name)
            if variable in taken:
                continue
            taken.add(variable)
        people.append(person)
    return people


def _mergeable(code: LiveCode) -> bool:
    """Offline and backup codes are each lock's own, an unrevealed PIN cannot be compared, and
    an unmanaged code cannot be taken over: none of them is part of a person."""
    return code.is_managed and not code.is_backup and not code.is_offline and bool(code.code)


def _person(name: str, members: Sequence[tuple[DeviceKey, LiveCode]]) -> Person | None:
    """The person `members` (every entry of one name) make, or None if they stay per device."""
    keys = [key for key, _ in members]
    if len(set(keys)) < 2 or len(set(keys)) != len(keys):
        return None
    if not all(_mergeable(code) for _, code in members):
        return None
    shapes = {(code.code or "", tuple(code_fields(code))) for _, code in members}
    if len(shapes) != 1:
        return None
    ((pin, fields),) = shapes
    return Person(name=name, pin=pin, doors=tuple(sorted(keys)), fields=fields)
