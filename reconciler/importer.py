"""`accesscodes import`: write config for the codes already on the locks (onboarding).

Like `terraform import` or `octodns-dump`: managed codes become config entries, so the first
plan after an import is empty; unmanaged codes are listed as comments (they are never managed
unless the user moves them into the config). PINs are written as `${VAR}` references, with the
values going to an env file only when asked, so the YAML can be committed as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from reconciler.models import DeviceId, DeviceKey, LiveCode
from reconciler.plan import iso
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


async def import_config(
    provider: Provider,
    devices: Sequence[tuple[DeviceKey, DeviceId]],
    *,
    provider_yaml: str,
    literal_codes: bool = False,
    include_unmanaged: bool = False,
) -> ImportResult:
    """Read each device's codes and render them as an accesscodes config."""
    found = {d.device_id: d for d in await provider.list_devices([d for _, d in devices])}
    result = ImportResult(yaml="")
    lines = [
        "# Written by `accesscodes import`. PINs are ${VAR} references: set them in the",
        "# environment (or in a secret store) before running plan.",
        "version: 1",
        provider_yaml.rstrip(),
        "devices:",
    ]
    for key, device_id in devices:
        if device_id not in found:
            result.missing.append(device_id)
            continue
        codes = await provider.list_codes(device_id)
        lines += [f"  {_quote(key)}:", f"    device_id: {_quote(device_id)}"]
        zone = found[device_id].capabilities.timezone
        if zone:
            lines.append(f"    timezone: {_quote(zone)}")
        managed = [c for c in codes if c.is_managed and not c.is_backup]
        unmanaged = [c for c in codes if not c.is_managed]
        lines.append(
            "    codes:" if managed or (include_unmanaged and unmanaged) else "    codes: []"
        )
        used: set[str] = set()
        for code in managed + (unmanaged if include_unmanaged else []):
            lines += _entry(key, code, used, result, literal_codes)
        if unmanaged and not include_unmanaged:
            lines.append("    # unmanaged codes on this lock (never touched by accesscodes):")
            lines += [f"    #   - {c.name!r} ({c.access_code_id})" for c in unmanaged]
    result.yaml = "\n".join(lines) + "\n"
    return result


def _entry(
    key: str, code: LiveCode, used: set[str], result: ImportResult, literal: bool
) -> list[str]:
    name = code.name
    number = 2
    while name in used:
        name = f"{code.name} ({number})"
        number += 1
    used.add(name)
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
