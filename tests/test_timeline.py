"""`accesscodes timeline` as users run it: real subprocesses on the quickstart example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import CliRunner
from syrupy.assertion import SnapshotAssertion

# No test here may hang the suite: each test waits on accesscodes subprocesses (60 s each at most).
pytestmark = pytest.mark.timeout(120)

NOW = "2026-11-23T15:00:00Z"
PINS = ("482913", "639027")


def _json(cli: CliRunner, quickstart: Path, *args: str) -> dict[str, Any]:
    result = cli("timeline", "-c", str(quickstart), "--now", NOW, "--format", "json", *args)
    assert result.code == 0, result.output
    return json.loads(result.out)


def _device(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(d for d in data["devices"] if d["device"] == key)


def test_text_timeline_of_the_quickstart(
    cli: CliRunner, quickstart: Path, snapshot: SnapshotAssertion
) -> None:
    result = cli("timeline", "-c", str(quickstart), "--now", NOW)
    assert result.code == 0, result.output
    assert result.out == snapshot


def test_json_shows_lead_times_per_lock(cli: CliRunner, quickstart: Path) -> None:
    data = _json(cli, quickstart)
    assert data["now"] == NOW and data["from"] == NOW and data["to"] == "2026-12-07T15:00:00Z"

    # The Ultraloq schedules just in time: the cleaner goes on 30 minutes before 10:00 EST.
    back = _device(data, "back-door")
    cleaner = next(c for c in back["codes"] if c["name"] == "Cleaner")
    assert cleaner["occurrence"] == "2026-11-24T15:00:00Z"
    assert cleaner["due_at"] == "2026-11-24T14:30:00Z"
    assert cleaner["state"] == "due" and not cleaner["on_lock"]
    assert back["next_due"]["at"] == "2026-11-24T14:30:00Z"
    assert data["next_due"] == {
        "at": "2026-11-24T14:30:00Z",
        "device": "back-door",
        "name": "Cleaner",
        "action": "create",
        "occurrence": "2026-11-24T15:00:00Z",
    }

    # The August schedules natively: the next occurrence goes on 72 h ahead.
    front = _device(data, "front-door")
    upcoming = next(c for c in front["codes"] if c["occurrence"] == "2026-12-01T15:00:00Z")
    assert upcoming["due_at"] == "2026-11-28T15:00:00Z"
    assert upcoming["programmed_from"] == "2026-11-28T15:00:00Z"
    assert front["next_due"]["at"] == "2026-11-28T15:00:00Z"


def test_codes_are_in_the_order_they_go_on_the_lock(cli: CliRunner, quickstart: Path) -> None:
    cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve")
    front = _device(_json(cli, quickstart), "front-door")
    states = [(c["name"], c["state"], c["on_lock"]) for c in front["codes"]]
    assert states == [
        ("Alice (resident)", "ongoing", True),
        ("Cleaner", "on_lock", True),
        ("Cleaner", "due", False),
        ("Guest Bob", "due", False),
    ]


def test_device_filter_shows_only_that_device(cli: CliRunner, quickstart: Path) -> None:
    data = _json(cli, quickstart, "--device", "back-door")
    assert [d["device"] for d in data["devices"]] == ["back-door"]
    assert data["next_due"]["device"] == "back-door"

    text = cli("timeline", "-c", str(quickstart), "--now", NOW, "--device", "front-door")
    assert text.code == 0, text.output
    assert "front-door (august_front, America/New_York)" in text.out
    assert "back-door" not in text.out

    unknown = cli("timeline", "-c", str(quickstart), "--now", NOW, "--device", "garage")
    assert unknown.code == 1
    assert "no device 'garage'" in unknown.err


def test_period_limits_the_codes_shown(cli: CliRunner, quickstart: Path) -> None:
    data = _json(cli, quickstart, "--from", "2026-11-29T00:00:00", "--to", "2026-12-02T00:00:00")
    back = _device(data, "back-door")
    assert [(c["name"], c["occurrence"]) for c in back["codes"]] == [
        ("Alice (resident)", None),
        ("Cleaner", "2026-12-01T15:00:00Z"),
    ]
    bad = cli("timeline", "-c", str(quickstart), "--from", NOW, "--to", "2026-11-01T00:00:00Z")
    assert bad.code == 1 and "must be after" in bad.err


def test_no_pin_is_ever_printed(cli: CliRunner, quickstart: Path) -> None:
    for state in ("before apply", "after apply"):
        text = cli("timeline", "-c", str(quickstart), "--now", NOW)
        data = cli("timeline", "-c", str(quickstart), "--now", NOW, "--format", "json")
        assert text.code == 0 and data.code == 0, state
        for pin in PINS:
            assert pin not in text.output, state
            assert pin not in data.output, state
        cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve")


def _rows(text: str, device: str) -> list[str]:
    """The code names in the text table of one device (its rows, not its `Next due` line)."""
    section = text.split(f"\n{device} (", 1)[1].split("\n\n", 1)[0]
    rows = section.splitlines()[2:]  # the device line and the table's header
    return [row.split("  ")[1] for row in rows if row.startswith("  ") and "Next due" not in row]


def _names(data: dict[str, Any], device: str) -> list[tuple[str, str | None]]:
    return [(c["name"], c["occurrence"]) for c in _device(data, device)["codes"]]


def test_a_period_lists_no_window_that_starts_after_it(
    cli: CliRunner, quickstart: Path, snapshot: SnapshotAssertion
) -> None:
    # Ends 01:00 New York on Tuesday 1 December: the cleaner comes at 10:00 and the guest at
    # 15:00, though both go on the front door (72 h ahead) inside the period.
    period = ("--from", "2026-11-29T00:00:00Z", "--to", "2026-12-01T06:00:00Z")
    data = _json(cli, quickstart, *period)
    assert _names(data, "front-door") == [("Alice (resident)", None)]
    assert _names(data, "back-door") == [("Alice (resident)", None)]

    text = cli("timeline", "-c", str(quickstart), "--now", NOW, *period)
    assert text.code == 0, text.output
    assert _rows(text.out, "front-door") == ["Alice (resident)"]
    assert _rows(text.out, "back-door") == ["Alice (resident)"]
    assert text.out == snapshot


def test_a_window_touching_the_period_at_an_edge_is_not_listed(
    cli: CliRunner, quickstart: Path
) -> None:
    cleaner = ("Cleaner", "2026-12-01T15:00:00Z")  # 15:00Z to 19:00Z on both doors
    to_start = _json(cli, quickstart, "--from", NOW, "--to", "2026-12-01T15:00:00Z")
    assert cleaner not in _names(to_start, "front-door")
    into_it = _json(cli, quickstart, "--from", NOW, "--to", "2026-12-01T15:01:00Z")
    assert cleaner in _names(into_it, "front-door") and cleaner in _names(into_it, "back-door")

    at_end = _json(cli, quickstart, "--from", "2026-12-01T19:00:00Z", "--to", "2026-12-02T00:00Z")
    assert cleaner not in _names(at_end, "front-door") + _names(at_end, "back-door")
    before_end = _json(cli, quickstart, "--from", "2026-12-01T18:59:00Z", "--to", "2026-12-02")
    assert cleaner in _names(before_end, "front-door") and cleaner in _names(
        before_end, "back-door"
    )

    # A window that ended before --from is not listed either (last Tuesday's, after apply).
    cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve")
    later = _json(cli, quickstart, "--from", "2026-11-25T00:00:00Z", "--to", "2026-11-26T00:00Z")
    assert _names(later, "back-door") == [("Alice (resident)", None)]


def test_a_code_without_an_end_is_in_every_period_once_on_the_lock(
    cli: CliRunner, quickstart: Path
) -> None:
    # Not on the lock yet: Alice goes on now, so a period ending now does not show her.
    before = _json(cli, quickstart, "--from", "2026-11-20T00:00:00Z", "--to", NOW)
    assert _names(before, "front-door") == [] and _names(before, "back-door") == []

    cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve")
    far = _json(cli, quickstart, "--from", "2027-06-03T00:00:00Z", "--to", "2027-06-04T00:00Z")
    assert _names(far, "front-door") == [("Alice (resident)", None)]
    assert _names(far, "back-door") == [("Alice (resident)", None)]
