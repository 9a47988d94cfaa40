"""`accesscodes import`: write config for the codes already on the locks (onboarding).

Like `terraform import` or `octodns-dump`: managed codes become config entries, so the first
plan after an import is empty; unmanaged codes are listed as comments (they are never managed
unless the user moves them into the config). PINs are written as `${VAR}` references, with the
values going to an env file only when asked, so the YAML can be committed as it is. Codes that
would collide in the config (one name twice on a lock, two names giving one variable) stop the
import with both named, before anything is written. One name with one PIN on several doors is
written once under `people:` (`importpeople`), its doors keeping their `devices:` entries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from reconciler.apply.importpeople import (
    Person,
    code_fields,
    env_name,
    find_people,
    person_env_name,
)
from reconciler.core.errors import AccessCodesError
from reconciler.core.models import Device, DeviceId, DeviceKey, LiveCode
from reconciler.providers.base import Provider


@dataclass
class ImportResult:
    """The YAML text and the PINs its `${VAR}` references stand for."""

    yaml: str
    env: dict[str, str] = field(default_factory=dict, repr=False)
    missing: list[str] = field(default_factory=list)


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


class ImportConflict(AccessCodesError):
    """Live codes that cannot become config entries as they stand (two with one name, or two
    names that make one `${VAR}`): nothing is written, since a guessed rename would make the
    first plan after the import rename a code, and a shared variable would lose a PIN."""


async def import_config(
    provider: Provider,
    devices: Sequence[tuple[DeviceKey, DeviceId]],
    *,
    provider_yaml: str,
    literal_codes: bool = False,
    include_unmanaged: bool = False,
) -> ImportResult:
    """Read each device's codes and render them as an accesscodes config; raise
    `ImportConflict` (before anything is rendered) if two codes would share a name or a
    variable."""
    found = {d.device_id: d for d in await provider.list_devices([d for _, d in devices])}
    result = ImportResult(yaml="")
    listed: list[tuple[DeviceKey, DeviceId, list[LiveCode]]] = []
    for key, device_id in devices:
        if device_id not in found:
            result.missing.append(device_id)
            continue
        listed.append((key, device_id, await provider.list_codes(device_id)))
    conflicts = _conflicts(listed, include_unmanaged=include_unmanaged, literal=literal_codes)
    if conflicts:
        raise ImportConflict(
            "cannot import, nothing was written:\n  " + "\n  ".join(conflicts) + "\nRename "
            "one code of each on the lock (or in the maker's app), then import again."
        )
    entries = [(key, _entries(codes, include_unmanaged)) for key, _, codes in listed]
    people = find_people(entries, literal=literal_codes)
    merged = {(door, person.name) for person in people for door in person.doors}
    lines = [
        "# Written by `accesscodes import`. PINs are ${VAR} references: set them in the",
        "# environment (or in a secret store) before running plan.",
        "version: 1",
        provider_yaml.rstrip(),
        "devices:",
    ]
    for (key, device_id, codes), (_, kept) in zip(listed, entries, strict=True):
        kept = [c for c in kept if (key, c.name) not in merged]
        lines += _device(key, found[device_id], kept, result, literal_codes)
        unmanaged = [c for c in codes if not c.is_managed]
        if unmanaged and not include_unmanaged:
            lines.append("    # unmanaged codes on this lock (never touched by accesscodes):")
            lines += [f"    #   - {c.name!r} ({c.access_code_id})" for c in unmanaged]
    lines += _people(people, result, literal_codes)
    result.yaml = "\n".join(lines) + "\n"
    return result


def _device(
    key: DeviceKey, device: Device, entries: Sequence[LiveCode], result: ImportResult, literal: bool
) -> list[str]:
    """One `devices:` entry: its id, its zone and the codes that stay with this door."""
    lines = [f"  {_quote(key)}:", f"    device_id: {_quote(device.device_id)}"]
    zone = device.capabilities.timezone
    if zone:
        lines.append(f"    timezone: {_quote(zone)}")
    lines.append("    codes:" if entries else "    codes: []")
    for code in entries:
        lines += _entry(key, code, result, literal)
    return lines


def _people(people: Sequence[Person], result: ImportResult, literal: bool) -> list[str]:
    """The `people:` section (nothing without people): each once, with its doors."""
    if not people:
        return []
    lines = ["# one name with one PIN on several doors, written once:", "people:"]
    for person in people:
        lines.append(f"  - name: {_quote(person.name)}")
        if literal:
            lines.append(f"    code: {_quote(person.pin)}")
        else:
            variable = person_env_name(person.name)
            result.env[variable] = person.pin
            lines.append(f"    code: ${{{variable}}}")
        lines.append(f"    doors: [{', '.join(_quote(door) for door in person.doors)}]")
        lines += [f"    {line}" for line in person.fields]
    return lines


def _entries(codes: Sequence[LiveCode], include_unmanaged: bool) -> list[LiveCode]:
    """The codes that become config entries: managed ones (not backups), unmanaged if asked."""
    managed = [c for c in codes if c.is_managed and not c.is_backup]
    return managed + ([c for c in codes if not c.is_managed] if include_unmanaged else [])


def _conflicts(
    listed: Sequence[tuple[DeviceKey, DeviceId, list[LiveCode]]],
    *,
    include_unmanaged: bool,
    literal: bool,
) -> list[str]:
    """Two entries with one name on a lock, or two entries whose PINs would be one variable."""
    problems: list[str] = []
    owners: dict[str, tuple[str, str]] = {}  # variable -> (device key, code name)
    for key, device_id, codes in listed:
        by_name: dict[str, list[LiveCode]] = {}
        for code in _entries(codes, include_unmanaged):
            by_name.setdefault(code.name, []).append(code)
        for name, same in by_name.items():
            if len(same) > 1:
                ids = ", ".join(c.access_code_id for c in same)
                problems.append(
                    f"device '{key}' ({device_id}): {len(same)} codes are named {name!r} ({ids}); "
                    "a name is a code's identity on its lock"
                )
            if literal or not any(c.code and not c.is_offline for c in same):
                continue
            variable = env_name(key, name)
            first = owners.setdefault(variable, (key, name))
            if first != (key, name):
                problems.append(
                    f"code {first[1]!r} on device '{first[0]}' and code {name!r} on device "
                    f"'{key}' would both read their PIN from ${{{variable}}}"
                )
    return problems


def _entry(key: str, code: LiveCode, result: ImportResult, literal: bool) -> list[str]:
    """One code under a device's `codes:`; its PIN as `${VAR}` unless `literal`."""
    name = code.name
    out = [f"      - name: {_quote(name)}"]
    if not code.is_managed:
        out.append("        # unmanaged: accesscodes cannot take it over; recreate it to manage it")
    if code.is_offline:
        out.append("        offline: true")
    elif code.code:
        if literal:
            out.append(f"        code: {_quote(code.code)}")
        else:
            variable = env_name(key, name)
            result.env[variable] = code.code
            out.append(f"        code: ${{{variable}}}")
    return out + [f"        {line}" for line in code_fields(code)]
