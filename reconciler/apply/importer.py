"""`accesscodes import`: write config for the codes already on the locks (onboarding).

Like `terraform import` or `octodns-dump`: managed codes become config entries, so the first
plan after an import is empty; unmanaged codes are listed as comments (they are never managed
unless the user moves them into the config). PINs are written as `${VAR}` references, with the
values going to an env file only when asked, so the YAML can be committed as it is. Codes that
would collide in the config (one name twice on a lock, two names giving one variable) stop the
import with both named, before anything is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from reconciler.core.errors import AccessCodesError
from reconciler.core.models import DeviceId, DeviceKey, LiveCode
from reconciler.core.plan import iso
from reconciler.providers.base import Provider


@dataclass
class ImportResult:
    """The YAML text and the PINs its `${VAR}` references stand for."""

    yaml: str
    env: dict[str, str] = field(default_factory=dict, repr=False)
    missing: list[str] = field(default_factory=list)


def env_name(key: str, name: str) -> str:
    """`${FRONT_DOOR_GUEST_BOB_PIN}`: a variable name from a device key and a code name."""
    raw = f"{key}_{name}_PIN".upper()
    return re.sub(r"_+", "_", re.sub(r"[^A-Z0-9]", "_", raw)).strip("_")


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
    lines = [
        "# Written by `accesscodes import`. PINs are ${VAR} references: set them in the",
        "# environment (or in a secret store) before running plan.",
        "version: 1",
        provider_yaml.rstrip(),
        "devices:",
    ]
    for key, device_id, codes in listed:
        lines += [f"  {_quote(key)}:", f"    device_id: {_quote(device_id)}"]
        zone = found[device_id].capabilities.timezone
        if zone:
            lines.append(f"    timezone: {_quote(zone)}")
        entries = _entries(codes, include_unmanaged)
        unmanaged = [c for c in codes if not c.is_managed]
        lines.append("    codes:" if entries else "    codes: []")
        for code in entries:
            lines += _entry(key, code, result, literal_codes)
        if unmanaged and not include_unmanaged:
            lines.append("    # unmanaged codes on this lock (never touched by accesscodes):")
            lines += [f"    #   - {c.name!r} ({c.access_code_id})" for c in unmanaged]
    result.yaml = "\n".join(lines) + "\n"
    return result


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
    if code.is_one_time_use:
        out.append("        one_time_use: true")
    if code.starts_at is not None and (code.ends_at is not None or code.is_one_time_use):
        out.append(f"        starts_at: {iso(code.starts_at)}")
    if code.ends_at is not None and not code.is_one_time_use:
        out.append(f"        ends_at: {iso(code.ends_at)}")
    return out
