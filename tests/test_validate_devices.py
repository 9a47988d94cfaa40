"""`validate` asks the provider about the locks: each code must suit its lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CliRunner
from seamfake import SeamFake

# No test here may hang the suite: each waits on accesscodes subprocesses and a fake Seam.
pytestmark = pytest.mark.timeout(120)

GUEST = """\
      - name: Guest
        code: "736194"
        starts_at: 2026-12-01T15:00:00
        ends_at: 2026-12-02T11:00:00
"""


def sim_config(tmp_path: Path, fleet: str) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        "version: 1\nprovider:\n  kind: sim\n  fleet:\n"
        + fleet
        + "devices:\n  back:\n    device_id: ultraloq_x\n    codes:\n"
        + GUEST
    )


def test_an_ultraloq_time_bound_code_without_a_zone_is_refused_at_validate(
    cli: CliRunner, tmp_path: Path
) -> None:
    sim_config(tmp_path, "    ultraloq_x: {profile: ultraloq}\n")
    result = cli("validate")
    assert result.code == 1
    assert (
        "accesscodes.yaml:10:9: devices.back.codes[0]: Time zone required for time-bound "
        "access codes on Ultraloq devices"
    ) in result.err
    assert not (tmp_path / ".accesscodes").exists()


def test_an_ultraloq_with_a_zone_validates(cli: CliRunner, tmp_path: Path) -> None:
    sim_config(tmp_path, "    ultraloq_x: {profile: ultraloq, timezone: Europe/Paris}\n")
    assert cli("validate").code == 0


def test_skip_devices_checks_the_config_alone(cli: CliRunner, tmp_path: Path) -> None:
    sim_config(tmp_path, "    ultraloq_x: {profile: ultraloq}\n")
    assert cli("validate", "--skip-devices").code == 0


def test_validate_asks_seam_about_the_device(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        "version: 1\nprovider:\n  kind: seam\ndevices:\n  back:\n"
        "    device_id: ultraloq_device_no_tz\n    codes:\n" + GUEST
    )
    with SeamFake() as fake:
        result = cli("validate", env=fake.env)
    assert result.code == 1
    assert "accesscodes.yaml:8:9" in result.err and "Time zone required" in result.err
    no_key = cli("validate", env={"SEAM_API_KEY": ""})
    assert no_key.code == 0
    assert "device checks skipped: SEAM_API_KEY is not set" in no_key.err
