"""A fleet of N locks x M codes: the server's state and the matching accesscodes config.

Code j has the same name and PIN on every lock (a person with one PIN everywhere), so the
PIN policy has nothing to report and a plan against the seeded fleet is empty. `codes_on_server`
below `codes` leaves the rest to be created; `extra` adds unmanaged codes per lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.server import access_code

# Six digits, no runs, no repeats, no prefixes of each other.
PINS = [f"{(271828 + 104729 * j) % 900000 + 100000}" for j in range(1000)]


def device_id(i: int) -> str:
    return f"lock_{i:05d}"


def device(i: int) -> dict[str, Any]:
    """A Seam device object for an August lock with the fields seam.py reads."""
    return {
        "device_id": device_id(i),
        "device_type": "august_lock",
        "display_name": f"Door {i}",
        "workspace_id": "ws_bench",
        "connected_account_id": "ca_bench",
        "created_at": "2025-01-01T00:00:00.000Z",
        "can_program_online_access_codes": True,
        "can_program_offline_access_codes": False,
        "capabilities_supported": ["access_code", "lock"],
        "location": {"timezone": "America/New_York", "location_name": f"Door {i}"},
        "errors": [],
        "warnings": [],
        "properties": {
            "name": f"Door {i}",
            "manufacturer": "august",
            "online": True,
            "locked": True,
            "supported_code_lengths": [4, 5, 6, 7, 8],
            "max_active_codes_supported": 250,
        },
    }


def server_fleet(locks: int, codes: int, *, extra: int = 0, drift: float = 0.0) -> dict[str, Any]:
    """What `/_bench/reset` loads: devices and their codes. With `drift`, that share of the
    codes differs from the config: every other one is missing (a create), the rest carry
    another PIN (an update)."""
    out: list[dict[str, Any]] = []
    every = round(1 / drift) if drift else 0
    for i in range(locks):
        did = device_id(i)
        for j in range(codes):
            k = i * codes + j
            if every and k % every == 0:
                if (k // every) % 2 == 0:
                    continue  # missing on the lock
                pin = PINS[(j + 500) % len(PINS)]  # changed behind our back
            else:
                pin = PINS[j]
            out.append(access_code(did, f"ac_{i}_{j}", f"Person {j:03d}", pin))
        for k in range(extra):
            out.append(access_code(did, f"uac_{i}_{k}", f"Manual {k}", PINS[-1 - k], managed=False))
    return {"devices": [device(i) for i in range(locks)], "access_codes": out}


def drifted(locks: int, codes: int, drift: float) -> tuple[int, int]:
    """(creates, updates) a plan against `server_fleet(..., drift=drift)` must show."""
    every = round(1 / drift) if drift else 0
    if not every:
        return 0, 0
    hits = range(0, locks * codes, every)
    creates = sum(1 for k in hits if (k // every) % 2 == 0)
    return creates, len(hits) - creates


def config_yaml(locks: int, codes: int, *, concurrency: int | None = None) -> str:
    """The accesscodes config for the fleet: every lock with its `codes` ongoing codes."""
    lines = ["version: 1", "provider: {kind: seam, retries: 6, timeout: 60s}", "settings:"]
    lines.append("  timezone: UTC")
    if concurrency:
        lines.append(f"  concurrency: {concurrency}")
    lines.append("devices:")
    entries = "".join(
        f'      - {{name: "Person {j:03d}", code: "{PINS[j]}"}}\n' for j in range(codes)
    )
    body = [
        f"  door-{i:05d}:\n    device_id: {device_id(i)}\n    codes:\n" + entries
        if codes
        else f"  door-{i:05d}:\n    device_id: {device_id(i)}\n    codes: []\n"
        for i in range(locks)
    ]
    return "\n".join(lines) + "\n" + "".join(body)


def write_config(folder: Path, locks: int, codes: int, **kwargs: Any) -> Path:
    """Write `accesscodes.yaml` into `folder` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "accesscodes.yaml"
    path.write_text(config_yaml(locks, codes, **kwargs))
    return path
