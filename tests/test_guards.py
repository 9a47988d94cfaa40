"""The guards a mutation probe broke without any test noticing (issue #14, item 11), through
the CLI on the simulator (`python -m reconciler` with `--now`, real files).

Each test sits on the exact boundary of one guard, so moving the boundary by one (`>` to `>=`,
`len` to `len - 1`) or dropping the condition fails it:

- `settings.max_deletes`: N deletes apply without `--force`, N + 1 are refused;
- `settings.max_deletes_per_device`: N on one lock apply, N + 1 on one lock are refused,
  N + 1 spread over two locks apply;
- `prefer_native_scheduling: false` on a lock that schedules natively is programmed
  `jit_lead` (30 min) ahead, not `native_lead` (72 h).

tests/test_guard_boundaries.py holds the same boundaries in-process (and the protected code
whose window has ended), where mutation testing (docs/quality.md) can see them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CliRunner, Result

# No test here may hang the suite: each test waits on accesscodes subprocesses (60 s each at most).
pytestmark = pytest.mark.timeout(120)

NOW_TEXT = "2026-11-23T15:00:00Z"
PINS = {"Ann": "736194", "Ben": "482913", "Cal": "905172", "Dee": "618350"}
GUARD_ERROR = "Error: the plan trips a delete guard; nothing was applied (--force to go on)"

# -- the CLI on the simulator -----------------------------------------------------------------


def write_config(
    tmp_path: Path,
    devices: dict[str, list[str]],
    *,
    prune: bool,
    max_deletes: int = 10,
    per_device: int | None = None,
) -> None:
    """A sim config: each device key `K` is lock `lock_K` holding the named ongoing codes."""
    lines = [
        "version: 1",
        "provider: {kind: sim}",
        "settings:",
        f"  prune: {str(prune).lower()}",
        f"  max_deletes: {max_deletes}",
    ]
    if per_device is not None:
        lines.append(f"  max_deletes_per_device: {per_device}")
    lines.append("devices:")
    for key, names in devices.items():
        lines += [
            f"  {key}:",
            f"    device_id: lock_{key}",
            "    codes:" + ("" if names else " []"),
        ]
        lines += [f'      - {{name: {name}, code: "{PINS[name]}"}}' for name in names]
    (tmp_path / "accesscodes.yaml").write_text("\n".join(lines) + "\n")


def seed(cli: CliRunner, tmp_path: Path, devices: dict[str, list[str]]) -> None:
    """Put the codes on the simulated locks (prune off, so nothing is deleted)."""
    write_config(tmp_path, devices, prune=False)
    seeded = cli("apply", "--now", NOW_TEXT, "--auto-approve")
    assert seeded.code == 0, seeded.output
    assert live_names(tmp_path) == {key: sorted(names) for key, names in devices.items()}


def live_names(tmp_path: Path) -> dict[str, list[str]]:
    """The code names on each simulated lock, by device key."""
    state = json.loads((tmp_path / ".accesscodes" / "sim.json").read_text())
    return {
        device_id.removeprefix("lock_"): sorted(c["name"] for c in device["codes"])
        for device_id, device in state["devices"].items()
    }


def apply(cli: CliRunner, *extra: str) -> Result:
    """`apply --now NOW --auto-approve`, the way a pipeline runs it."""
    return cli("apply", "--now", NOW_TEXT, "--auto-approve", *extra)


def applied_without_refusal(result: Result, deleted: int) -> bool:
    """The apply went through with exactly `deleted` deletes and nothing refused or failed."""
    closing = f"Apply complete: 0 created, 0 updated, {deleted} deleted, 0 failed, 0 skipped"
    return result.code == 0 and refusals(result) == [] and closing in result.out


def refusals(result: Result) -> list[str]:
    """The `Refused: ...` lines apply printed."""
    return [line for line in result.err.splitlines() if line.startswith("Refused: ")]


def test_exactly_max_deletes_apply_without_force(cli: CliRunner, tmp_path: Path) -> None:
    seed(cli, tmp_path, {"door": ["Ann", "Ben", "Cal"]})
    write_config(tmp_path, {"door": ["Cal"]}, prune=True, max_deletes=2)
    result = apply(cli)
    assert applied_without_refusal(result, 2), result.output
    assert live_names(tmp_path) == {"door": ["Cal"]}


def test_one_delete_over_max_deletes_is_refused_until_forced(
    cli: CliRunner, tmp_path: Path
) -> None:
    seed(cli, tmp_path, {"door": ["Ann", "Ben", "Cal"]})
    write_config(tmp_path, {"door": []}, prune=True, max_deletes=2)
    refused = apply(cli)
    assert refused.code == 1
    assert refusals(refused) == [
        "Refused: the plan deletes 3 codes, more than settings.max_deletes (2)"
    ]
    assert GUARD_ERROR in refused.err
    assert live_names(tmp_path) == {"door": ["Ann", "Ben", "Cal"]}
    forced = apply(cli, "--force")
    assert forced.code == 0, forced.output
    assert (
        "Apply complete: 0 created, 0 updated, 3 deleted, 0 failed, 0 skipped, 0 unknown."
        in forced.out
    )
    assert live_names(tmp_path) == {"door": []}


def test_exactly_max_deletes_per_device_on_one_lock_apply(cli: CliRunner, tmp_path: Path) -> None:
    seed(cli, tmp_path, {"door": ["Ann", "Ben", "Cal"]})
    write_config(tmp_path, {"door": ["Cal"]}, prune=True, per_device=2)
    result = apply(cli)
    assert applied_without_refusal(result, 2), result.output
    assert live_names(tmp_path) == {"door": ["Cal"]}


def test_one_delete_over_max_deletes_per_device_on_one_lock_is_refused(
    cli: CliRunner, tmp_path: Path
) -> None:
    seed(cli, tmp_path, {"door": ["Ann", "Ben", "Cal"], "back": ["Dee"]})
    write_config(tmp_path, {"door": [], "back": ["Dee"]}, prune=True, per_device=2)
    refused = apply(cli)
    assert refused.code == 1
    assert refusals(refused) == [
        "Refused: the plan deletes 3 codes on door, more than settings.max_deletes_per_device (2)"
    ]
    assert GUARD_ERROR in refused.err
    assert live_names(tmp_path) == {"door": ["Ann", "Ben", "Cal"], "back": ["Dee"]}


def test_one_delete_over_max_deletes_per_device_spread_over_two_locks_applies(
    cli: CliRunner, tmp_path: Path
) -> None:
    seed(cli, tmp_path, {"door": ["Ann", "Ben"], "back": ["Cal", "Dee"]})
    write_config(tmp_path, {"door": [], "back": ["Dee"]}, prune=True, per_device=2)
    result = apply(cli)
    assert applied_without_refusal(result, 3), result.output
    assert live_names(tmp_path) == {"door": [], "back": ["Dee"]}


NATIVE_LOCK = """\
version: 1
provider:
  kind: sim
  fleet:
    august_front: {profile: august}
devices:
  front:
    device_id: august_front
    codes:
      - {name: Guest, code: "736194", prefer_native_scheduling: false,
         starts_at: 2026-12-02T15:00:00Z, ends_at: 2026-12-05T11:00:00Z}
      - {name: Owner, code: "482913",
         starts_at: 2026-12-02T15:00:00Z, ends_at: 2026-12-05T11:00:00Z}
"""


def test_prefer_native_scheduling_false_is_programmed_jit_lead_ahead(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(NATIVE_LOCK)
    result = cli("plan", "--now", NOW_TEXT, "--format", "json")
    assert result.code == 0, result.output
    changes = {c["name"]: c for c in json.loads(result.out)["changes"]}
    assert changes["Guest"]["due_at"] == "2026-12-02T14:30:00Z"  # 30 min: jit_lead
    assert changes["Guest"]["reasons"] == ["missing on device; programmed 30m before it starts"]
    assert changes["Owner"]["due_at"] == "2026-11-29T15:00:00Z"  # 72 h: the lock is native
    assert changes["Owner"]["reasons"] == ["missing on device; programmed 3d before it starts"]
    # A day before check-in the native code is programmed and the other one still waits.
    day_before = cli("apply", "--now", "2026-12-01T15:00:00Z", "--auto-approve")
    assert day_before.code == 0, day_before.output
    assert "front / Owner: create ok" in day_before.out
    assert "front / Guest: create" not in day_before.out
