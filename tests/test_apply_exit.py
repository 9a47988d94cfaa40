"""Exit codes CI can trust: a blocked change fails the apply; `--now` never reaches real locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import CliRunner
from seamfake import SeamFake

NOW = "2026-11-23T15:00:00Z"
CONFIG = """\
version: 1
provider: {kind: sim}
devices:
  door:
    device_id: lock_1
    codes:
      - {name: Ann, code: "736194"}
      - {name: Guest, code: "905172"}
"""
PROTECTED_REVOKED = '{name: Guest, protected: true, revoke: true, code: "905172"}'


def with_guest_blocked(tmp_path: Path, cli: CliRunner, extra: str = "") -> None:
    """Ann and Guest on the lock, then Guest both protected and revoked: a blocked change."""
    config = tmp_path / "accesscodes.yaml"
    config.write_text(CONFIG)
    assert cli("apply", "--now", NOW, "--auto-approve").code == 0
    config.write_text(CONFIG.replace('{name: Guest, code: "905172"}', PROTECTED_REVOKED) + extra)


def live_names(tmp_path: Path) -> list[str]:
    state = json.loads((tmp_path / ".accesscodes" / "sim.json").read_text())
    return sorted(c["name"] for c in state["devices"]["lock_1"]["codes"])


def test_a_blocked_change_fails_the_apply_when_nothing_else_is_due(
    cli: CliRunner, tmp_path: Path
) -> None:
    with_guest_blocked(tmp_path, cli)
    result = cli("apply", "--now", NOW, "--auto-approve")
    assert result.code == 1, result.output
    (line,) = [x for x in result.err.splitlines() if x.startswith("Blocked: ")]
    assert line.startswith("Blocked: door / Guest: ") and "protected" in line
    assert "1 change of the plan stayed blocked" in result.err
    assert live_names(tmp_path) == ["Ann", "Guest"]


def test_the_due_changes_are_applied_and_the_blocked_one_still_fails_the_apply(
    cli: CliRunner, tmp_path: Path
) -> None:
    with_guest_blocked(tmp_path, cli, extra='      - {name: Cid, code: "507318"}\n')
    result = cli("apply", "--now", NOW, "--auto-approve")
    assert result.code == 1, result.output
    assert "door / Cid: create ok" in result.out
    assert "Blocked: door / Guest: " in result.err
    assert live_names(tmp_path) == ["Ann", "Cid", "Guest"]


def test_the_closing_line_counts_every_outcome_state(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(CONFIG)
    result = cli("apply", "--now", NOW, "--auto-approve")
    assert result.code == 0, result.output
    assert "door / Ann: create ok" in result.out
    assert (
        "Apply complete: 2 created, 0 updated, 0 deleted, 0 failed, 0 skipped, 0 unknown."
        in result.out
    )


SEAM_CONFIG = """\
version: 1
provider: {kind: seam, retries: 0}
devices:
  front:
    device_id: august_device_1
    codes:
      - {name: Alice, code: "482913"}
"""


def test_apply_now_is_refused_against_real_locks_before_anything_is_touched(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(SEAM_CONFIG)
    with SeamFake() as fake:
        env = {**fake.env, "ACCESSCODES_ALLOW_NOW_ON_APPLY": ""}  # as against real Seam
        refused = cli("apply", "--now", NOW, "--auto-approve", env=env)
        assert refused.code == 1
        assert "--now on apply works on the simulator only" in refused.err
        assert "Traceback" not in refused.output
        assert fake.list_codes("august_device_1", managed=True) == []
        assert not (tmp_path / ".accesscodes").exists()  # no lock file, no journal

        looked = cli("plan", "--now", NOW, "--detailed-exitcode", env=env)
        assert looked.code == 2, looked.output  # plan --now only reads: allowed
        assert cli("timeline", "--now", NOW, env=env).code == 0
        assert cli("apply", "--auto-approve", env=env).code == 0  # the real clock: fine
        assert len(fake.list_codes("august_device_1", managed=True)) == 1


def test_a_skipped_change_fails_the_apply_with_a_hint(cli: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "accesscodes.yaml"
    config.write_text(
        CONFIG.replace("provider: {kind: sim}", "provider: {kind: sim}\nsettings: {prune: true}")
    )
    assert cli("apply", "--now", NOW, "--auto-approve").code == 0
    config.write_text(
        config.read_text().replace('{name: Guest, code: "905172"}', '{name: Cid, code: "507318"}')
    )
    assert cli("sim", "tamper", "offline", "lock_1").code == 0
    result = cli("apply", "--now", NOW, "--auto-approve")
    assert result.code == 1
    assert "door / Cid: create FAILED: " in result.out
    assert "door / Guest: delete SKIPPED: " in result.out
    assert "Apply complete: 0 created, 0 updated, 0 deleted, 1 failed, 1 skipped, 0 unknown." in (
        result.out
    )
    assert "plan again to see where it stands" in result.err
    assert live_names(tmp_path) == ["Ann", "Guest"]


def test_a_write_whose_answer_was_lost_is_unknown_and_fails_the_apply(tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(SEAM_CONFIG)
    with SeamFake() as fake:
        primary, secondary = os.openpty()
        env = {**os.environ, **fake.env}
        proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply"],
            cwd=tmp_path,
            env=env,
            stdin=secondary,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            seen = ""
            while "Only 'yes' is accepted" not in seen:  # planned; now the API goes down
                chunk = proc.stdout.read(1)
                assert chunk, seen
                seen += chunk
            fake.simulate_outage(["access_codes/create", "access_codes/list"])
            os.write(primary, b"yes\n")
            out, err = proc.communicate(timeout=60)
        finally:
            os.close(primary)
            os.close(secondary)
        out = seen + out
        assert proc.returncode == 1, out + err
        assert "front / Alice: create UNKNOWN: " in out and "[outcome_unknown]" in out
        assert "0 failed, 0 skipped, 1 unknown." in out
        assert "plan again to see where it stands" in err
