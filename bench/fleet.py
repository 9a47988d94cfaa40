"""A fleet of N locks x M codes: the server's state and the matching accesscodes config.

Code j has the same name and PIN on every lock (a person with one PIN everywhere), so the
PIN policy has nothing to report and a plan against the seeded fleet is empty. With
`own_pins`, each code is a guest of its own with a PIN of its own (`own_pin`): nothing is
shared from lock to lock, the worst case for memory. `codes_on_server`
below `codes` leaves the rest to be created; `extra` adds unmanaged codes per lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.server import access_code

# Six digits, no runs, no repeats, no prefixes of each other.
PINS = [f"{(271828 + 104729 * j) % 900000 + 100000}" for j in range(1000)]


def own_pin(i: int, j: int) -> str:
    """Code j of lock i's own 8-digit PIN: distinct for every code of a fleet, none weak."""
    from reconciler.config.policy import is_weak, load_policy

    for k in (i * 1000 + j, i * 1000 + j + 500):  # (k + 500 is no other code's)
        pin = str(10_000_000 + k * 7919 % 89_999_999)
        if not is_weak(pin, _policy(load_policy)):
            return pin
    raise AssertionError(f"no PIN for code {j} of lock {i}")  # pragma: no cover


_POLICY: list[Any] = []


def _policy(load: Any) -> Any:
    if not _POLICY:
        _POLICY.append(load([]))
    return _POLICY[0]


def code_of(i: int, j: int, own_pins: bool) -> tuple[str, str]:
    """Code j of lock i: its name and PIN."""
    if own_pins:
        return f"Guest {i}-{j}", own_pin(i, j)
    return f"Person {j:03d}", PINS[j]


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


def server_fleet(
    locks: int, codes: int, *, extra: int = 0, drift: float = 0.0, own_pins: bool = False
) -> dict[str, Any]:
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
                pin = code_of(i, j, own_pins)[1]
            out.append(access_code(did, f"ac_{i}_{j}", code_of(i, j, own_pins)[0], pin))
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


def config_yaml(
    locks: int, codes: int, *, concurrency: int | None = None, own_pins: bool = False
) -> str:
    """The accesscodes config for the fleet: every lock with its `codes` ongoing codes."""
    lines = ["version: 1", "provider: {kind: seam, retries: 6, timeout: 60s}", "settings:"]
    lines.append("  timezone: UTC")
    if concurrency:
        lines.append(f"  concurrency: {concurrency}")
    lines.append("devices:")
    shared = "".join(_entry(*code_of(0, j, False)) for j in range(codes))
    body = [
        f"  door-{i:05d}:\n    device_id: {device_id(i)}\n    codes:\n"
        + ("".join(_entry(*code_of(i, j, True)) for j in range(codes)) if own_pins else shared)
        if codes
        else f"  door-{i:05d}:\n    device_id: {device_id(i)}\n    codes: []\n"
        for i in range(locks)
    ]
    return "\n".join(lines) + "\n" + "".join(body)


def _entry(name: str, pin: str) -> str:
    return f'      - {{name: "{name}", code: "{pin}"}}\n'


def write_config(folder: Path, locks: int, codes: int, **kwargs: Any) -> Path:
    """Write `accesscodes.yaml` into `folder` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "accesscodes.yaml"
    path.write_text(config_yaml(locks, codes, **kwargs))
    return path
