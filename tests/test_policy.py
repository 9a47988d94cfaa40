"""The default PIN policy: each rule triggers on a bad PIN and stays quiet on a good one."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CliRunner

from reconciler.config.load import load_config
from reconciler.core.errors import ConfigError

HEADER = "version: 1\ndevices:\n"


def door(key: str, *codes: str) -> str:
    return f"  {key}:\n    device_id: {key}_lock\n    codes:\n" + "".join(
        f"      - {c}\n" for c in codes
    )


def problems(tmp_path: Path, text: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) as the user would read them."""
    path = tmp_path / "accesscodes.yaml"
    path.write_text(text)
    try:
        config = load_config(path)
    except ConfigError as exc:
        return [str(p) for p in exc.problems], []
    return [], [str(w) for w in config.warnings]


@pytest.mark.parametrize(
    ("bad", "good"),
    [
        ("1234", "4821"),
        ("987654", "987645"),
        ("7777", "7778"),
        ("2580", "2581"),
        ("121212", "121231"),
    ],
)
def test_weak_pins_are_errors(tmp_path: Path, bad: str, good: str) -> None:
    errors, _ = problems(tmp_path, HEADER + door("a", f'{{name: A, code: "{bad}"}}'))
    assert len(errors) == 1 and "weak PIN" in errors[0]
    message = errors[0].split("accesscodes.yaml:")[1]
    assert message.startswith("6:9: devices.a.codes[0].code: ") and bad not in message
    assert problems(tmp_path, HEADER + door("a", f'{{name: A, code: "{good}"}}')) == ([], [])


def test_a_pin_shorter_than_the_minimum_is_an_error(tmp_path: Path) -> None:
    errors, _ = problems(tmp_path, HEADER + door("a", '{name: A, code: "482"}'))
    assert any("shorter than 4 digits" in e for e in errors)
    assert problems(tmp_path, HEADER + door("a", '{name: A, code: "4829"}')) == ([], [])


def test_the_same_pin_twice_on_one_lock_is_an_error(tmp_path: Path) -> None:
    errors, _ = problems(
        tmp_path, HEADER + door("a", '{name: A, code: "482913"}', '{name: B, code: "482913"}')
    )
    assert any("same PIN as 'A' on this lock" in e for e in errors)
    ok = problems(
        tmp_path, HEADER + door("a", '{name: A, code: "482913"}', '{name: B, code: "905172"}')
    )
    assert ok == ([], [])


def test_a_pin_that_prefixes_another_on_one_lock_is_an_error(tmp_path: Path) -> None:
    errors, _ = problems(
        tmp_path, HEADER + door("a", '{name: A, code: "4829"}', '{name: B, code: "482913"}')
    )
    assert any("one is a prefix" in e for e in errors)
    ok = problems(
        tmp_path, HEADER + door("a", '{name: A, code: "4829"}', '{name: B, code: "582913"}')
    )
    assert ok == ([], [])


def test_one_pin_for_different_people_across_the_site_is_a_warning(tmp_path: Path) -> None:
    _, warnings = problems(
        tmp_path,
        HEADER
        + door("a", '{name: Ann, code: "482913"}')
        + door("b", '{name: Ben, code: "482913"}'),
    )
    assert len(warnings) == 1 and "given to 2 different people: Ann, Ben" in warnings[0]
    same_person = problems(
        tmp_path,
        HEADER
        + door("a", '{name: Ann, code: "482913"}')
        + door("b", '{name: Ann, code: "482913"}'),
    )
    assert same_person == ([], [])


def test_a_very_long_window_is_a_warning(tmp_path: Path) -> None:
    long_stay = (
        '{name: A, code: "482913", starts_at: 2026-01-01T00:00:00Z, ends_at: 2026-06-01T00:00:00Z}'
    )
    _, warnings = problems(tmp_path, HEADER + door("a", long_stay))
    assert any("longer than 90 days" in w for w in warnings)
    week = (
        '{name: A, code: "482913", starts_at: 2026-01-01T00:00:00Z, ends_at: 2026-01-08T00:00:00Z}'
    )
    assert problems(tmp_path, HEADER + door("a", week)) == ([], [])


def test_a_recurring_code_without_a_pin_is_an_error(tmp_path: Path) -> None:
    weekly = 'schedule: {cron: "0 10 * * TUE", duration: 4h}'
    errors, _ = problems(tmp_path, HEADER + door("a", f"{{name: Cleaner, {weekly}}}"))
    assert len(errors) == 1 and "a recurring code needs a PIN" in errors[0]
    assert "6:9: devices.a.codes[0].code" in errors[0]
    with_pin = door("a", f'{{name: Cleaner, code: "582913", {weekly}}}')
    assert problems(tmp_path, HEADER + with_pin) == ([], [])
    (tmp_path / "relaxed.yaml").write_text(
        "version: 1\nrules:\n  recurring_without_pin: {level: 'off'}\n"
    )
    relaxed = "version: 1\nsettings:\n  policies: [relaxed.yaml]\ndevices:\n"
    assert problems(tmp_path, relaxed + door("a", f"{{name: Cleaner, {weekly}}}")) == ([], [])


def test_an_extra_policy_file_changes_levels(tmp_path: Path) -> None:
    (tmp_path / "strict.yaml").write_text(
        "version: 1\nrules:\n  pin_shared_across_people: {level: error}\n"
        "  weak_pin: {level: 'off'}\n"
    )
    text = (
        "version: 1\nsettings:\n  policies: [strict.yaml]\ndevices:\n"
        + door("a", '{name: Ann, code: "1234"}')
        + door("b", '{name: Ben, code: "1234"}')
    )
    errors, _ = problems(tmp_path, text)
    assert len(errors) == 1 and "different people" in errors[0]


@pytest.mark.timeout(60)
def test_policy_errors_stop_every_command(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(HEADER + door("a", '{name: A, code: "1234"}'))
    for command in (["validate"], ["plan"], ["apply", "--auto-approve"]):
        result = cli(*command)
        assert result.code == 1, result.output
        assert result.err.splitlines() == [
            "accesscodes.yaml:6:9: devices.a.codes[0].code: weak PIN "
            "(a sequence, one digit repeated, or a common PIN)",
            "Error: the config has 1 problem; nothing was applied.",
        ]
        assert "1234" not in result.output
    assert not (tmp_path / ".accesscodes").exists()


def test_one_pin_for_three_people_is_one_warning_at_its_first_code(tmp_path: Path) -> None:
    _, warnings = problems(
        tmp_path,
        HEADER
        + door("a", '{name: Ann, code: "482913"}', '{name: Cy, code: "573024"}')
        + door("b", '{name: Ben, code: "482913"}', '{name: Ann, code: "573024"}')
        + door("c", '{name: Cy, code: "482913"}'),
    )
    assert len(warnings) == 2
    assert warnings[0].startswith(f"{tmp_path / 'accesscodes.yaml'}:6:9: devices.a.codes[0].code")
    assert "given to 3 different people: Ann, Ben, Cy" in warnings[0]
    assert ":7:9: devices.a.codes[1].code" in warnings[1] and "Ann, Cy" in warnings[1]
