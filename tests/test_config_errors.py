"""Bad configs: every command exits 1, names the file and line, shows no traceback and applies
nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CliRunner

from reconciler.config.load import load_config
from reconciler.core.errors import ConfigError

HEADER = """\
version: 1
devices:
  front-door:
    device_id: august_device_1
    codes:
"""

BAD_CONFIGS = {
    "yaml syntax error": ("      - name: Alice: Smith\n", 6, "YAML syntax error"),
    "unknown field": ('      - name: Alice\n        pin: "482913"\n', 7, "unknown field 'pin'"),
    "only starts_at": (
        "      - name: Bob\n        starts_at: 2026-12-01T15:00:00\n",
        7,
        "starts_at and ends_at go together",
    ),
    "ends before starts": (
        "      - name: Bob\n        starts_at: 2026-12-04T15:00:00\n"
        "        ends_at: 2026-12-01T11:00:00\n",
        8,
        "ends_at must be after starts_at",
    ),
    "duplicate name": (
        "      - name: Alice\n      - name: Alice\n",
        7,
        "code name 'Alice' is used twice",
    ),
    "letters in PIN": (
        '      - name: Alice\n        code: "48a913"\n',
        7,
        "a PIN must be digits only",
    ),
    "invalid cron": (
        '      - name: Cleaner\n        schedule: {cron: "0 25 * * TUE", duration: 4h}\n',
        7,
        "invalid cron expression",
    ),
    "undefined variable": (
        "      - name: Bob\n        code: ${SURELY_UNDEFINED_PIN}\n",
        7,
        "${SURELY_UNDEFINED_PIN} is not defined",
    ),
}


@pytest.mark.timeout(60)  # one accesscodes subprocess
@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_is_refused_with_its_line(
    cli: CliRunner, tmp_path: Path, case: str, command: str
) -> None:
    body, line, message = BAD_CONFIGS[case]
    (tmp_path / "accesscodes.yaml").write_text(HEADER + body)
    extra = ["--auto-approve"] if command == "apply" else []
    result = cli(command, *extra)
    assert result.code == 1, result.output
    assert f"accesscodes.yaml:{line}:" in result.err
    assert message in result.err
    assert "Traceback" not in result.output
    assert "48a913" not in result.output
    assert not (tmp_path / ".accesscodes").exists(), "nothing may be applied"


def test_every_problem_is_listed_not_just_the_first(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(
        HEADER
        + ('      - name: Alice\n        code: "12ab"\n      - name: Bob\n        colour: blue\n')
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    rendered = [str(p) for p in caught.value.problems]
    assert any("codes[0].code: a PIN must be digits only" in r for r in rendered), rendered
    assert any("unknown field 'colour'" in r for r in rendered), rendered


def test_problems_in_several_devices_are_all_listed_with_their_lines(tmp_path: Path) -> None:
    """Devices are made one by one (config.devices); the first refused stops that pass, and
    the whole config is validated again, so the devices after it are named too."""
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "version: 1\ndevices:\n"
        "  door-a:\n    device_id: lock_a\n    codes:\n      - {name: A, code: 1234}\n"
        '  door-b:\n    device_id: lock_b\n    codes:\n      - {name: B, code: "520731"}\n'
        "  door-c:\n    device_id: lock_c\n    colour: blue\n"
        "settings:\n  concurrency: many\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    rendered = [str(p) for p in caught.value.problems]
    assert any(r.startswith(f"{path}:6:") and "door-a.codes[0].code" in r for r in rendered)
    assert any(r.startswith(f"{path}:13:") and "unknown field 'colour'" in r for r in rendered)
    assert any("settings.concurrency" in r for r in rendered), rendered
    assert not any("door-b" in r for r in rendered), rendered


def test_unquoted_pin_is_explained(write_config) -> None:
    path = write_config(HEADER + "      - name: Alice\n        code: 0123\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert problem.line == 7 and problem.path == "devices.front-door.codes[0].code"
    assert "quoted string" in problem.message


def test_environment_variables_fill_in_values(write_config) -> None:
    path = write_config(HEADER + "      - name: Bob\n        code: ${BOB_PIN}\n")
    config = load_config(path, environ={"BOB_PIN": "736194"})
    assert config.devices[0].codes[0].code == "736194"


def test_a_directory_of_files_is_merged(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(HEADER + "      - name: Alice\n")
    (tmp_path / "b.yml").write_text(
        "version: 1\ndevices:\n  back-door:\n    device_id: august_device_2\n"
    )
    config = load_config(tmp_path)
    assert [d.key for d in config.devices] == ["front-door", "back-door"]


def test_a_device_defined_in_two_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(HEADER + "      - name: Alice\n")
    (tmp_path / "b.yaml").write_text(HEADER + "      - name: Bob\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    (problem,) = caught.value.problems
    assert problem.file.endswith("b.yaml") and problem.line == 3
    assert "defined twice" in problem.message and "a.yaml:3" in problem.message


def test_a_key_given_twice_in_one_mapping_is_an_error(write_config) -> None:
    path = write_config(HEADER + "      - name: Alice\n        name: Alicia\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "key given twice (first at line 6)" in str(caught.value)


def test_offline_code_with_a_pin_is_an_error(write_config) -> None:
    path = write_config(
        HEADER
        + (
            '      - name: Parcel\n        offline: true\n        code: "482913"\n'
            "        starts_at: 2026-12-01T09:00:00\n        ends_at: 2026-12-02T09:00:00\n"
        )
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "offline code's PIN comes from the lock" in str(caught.value)
    assert "482913" not in str(caught.value)


# The models are strict like the schema (they run first, and the schema only on a refusal):
# nothing the schema refuses may slip through as a coerced value.
LOOSE_VALUES = {
    "number as a name": ("      - name: 123\n", 6, "codes[0].name"),
    "text as a flag": ("      - name: Alice\n        protected: 'yes'\n", 7, "codes[0].protected"),
    "seconds as a time": (
        "      - name: Bob\n        starts_at: 1764600000\n        ends_at: 1764900000\n",
        7,
        "codes[0].starts_at",
    ),
    "text as a number": (
        '      - name: Alice\nsettings:\n  max_deletes: "5"\n',
        8,
        "settings.max_deletes",
    ),
    "flag as a number": ("      - name: Alice\nsettings:\n  concurrency: true\n", 8, "concurrency"),
}


@pytest.mark.parametrize("case", list(LOOSE_VALUES))
def test_a_loosely_typed_value_is_refused_not_coerced(write_config, case: str) -> None:
    body, line, path_part = LOOSE_VALUES[case]
    path = write_config(HEADER + body)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problem = caught.value.problems[0]
    assert problem.line == line, problem
    assert path_part in problem.path
