"""Verified apply: `--wait` until the locks hold the codes; failures to set fail the apply."""

from __future__ import annotations

from pathlib import Path

from conftest import CliRunner
from seamfake import SeamFake

CONFIG = """\
version: 1
provider:
  kind: sim
  fleet:
    slow_lock: {{profile: august, programming_delay: {delay}}}
    broken_lock: {{profile: august, fails_to_set: true}}
devices:
  door:
    device_id: {device}
    codes:
      - {{name: Alice, code: "482913"}}
"""


def write(tmp_path: Path, device: str, delay: str = "1s") -> None:
    (tmp_path / "accesscodes.yaml").write_text(CONFIG.format(device=device, delay=delay))


def test_without_wait_a_code_being_programmed_is_progressing(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path, "slow_lock", delay="1h")
    result = cli("apply", "--auto-approve")
    assert result.code == 0, result.output
    assert "door / Alice: progressing (setting: the lock is being programmed)" in result.out


def test_wait_returns_once_the_lock_holds_the_code(cli: CliRunner, tmp_path: Path) -> None:
    write(tmp_path, "slow_lock", delay="2s")
    result = cli("apply", "--auto-approve", "--wait=20s")
    assert result.code == 0, result.output
    assert "door / Alice: set (set)" in result.out


def test_wait_fails_on_a_code_still_setting_at_the_end(cli: CliRunner, tmp_path: Path) -> None:
    write(tmp_path, "slow_lock", delay="1h")
    result = cli("apply", "--auto-approve", "--wait=2s")
    assert result.code == 1
    assert "door / Alice: failed (still setting when the wait ended) [stuck_setting]" in result.out


def test_a_failure_to_set_fails_the_apply_with_or_without_wait(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path, "broken_lock")
    result = cli("apply", "--auto-approve")
    assert result.code == 1
    assert "[failed_to_set_on_device]" in result.out
    (tmp_path / ".accesscodes" / "sim.json").unlink()
    waited = cli("apply", "--auto-approve", "--wait=5s")
    assert waited.code == 1 and "[failed_to_set_on_device]" in waited.out


def test_on_seams_fake_codes_stay_setting(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        "version: 1\nprovider: {kind: seam}\ndevices:\n  door:\n    device_id: august_device_1\n"
        '    codes:\n      - {name: Alice, code: "482913"}\n'
    )
    with SeamFake() as fake:
        result = cli("apply", "--auto-approve", env=fake.env)
        assert result.code == 0 and "door / Alice: progressing" in result.out
        (code,) = fake.list_codes("august_device_1", managed=True)
        fake.set_code_status(code["access_code_id"], "set")
        assert cli("plan", "--detailed-exitcode", env=fake.env).code == 0
