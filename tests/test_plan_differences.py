"""A reviewed plan refused as stale says which code and field moved since review, old -> new.

Real runs: `plan --out` on the quickstart's simulator, the config edited as a pull request
would, then `apply FILE`. The refusal names each difference between the saved plan and the one
made now (deepdiff over the changes keyed by device, name and occurrence), never a PIN.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import CliRunner

from reconciler.apply.plandiff import moved_since_review
from reconciler.apply.review import check_saved, sealed
from reconciler.core.errors import PlanRefused
from reconciler.core.models import DeviceId, DeviceKey
from reconciler.core.plan import Action, Change, CodeState, Plan

pytestmark = pytest.mark.timeout(120)

NOW = "2026-11-23T15:00:00Z"
PINS = ("482913", "639027", "905172")


def reviewed(cli: CliRunner, quickstart: Path) -> Path:
    """The quickstart's plan, saved at NOW as the reviewer saw it."""
    plan_file = quickstart / "reviewed.json"
    made = cli("plan", "-c", str(quickstart), "--now", NOW, "--out", str(plan_file))
    assert made.code == 0, made.output
    return plan_file


def edit_config(quickstart: Path, old: str, new: str) -> None:
    config = quickstart / "accesscodes.yaml"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new, 1))


def refusal(cli: CliRunner, quickstart: Path, plan_file: Path) -> str:
    """`apply FILE` refused: its one error line; nothing reached the locks."""
    result = cli("apply", "-c", str(quickstart), str(plan_file), "--now", NOW)
    assert result.code == 1, result.output
    assert not (quickstart / ".accesscodes" / "sim.json").exists()
    for pin in PINS:
        assert pin not in result.output
    lines = [line for line in result.err.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.err
    return lines[0]


def test_a_window_moved_after_review_is_named_with_its_old_and_new_value(
    cli: CliRunner, quickstart: Path
) -> None:
    plan_file = reviewed(cli, quickstart)
    edit_config(quickstart, "ends_at: 2026-12-04T11:00:00", "ends_at: 2026-12-05T11:00:00")
    assert refusal(cli, quickstart, plan_file) == (
        "Error: the locks or the config changed since the plan was saved: the plan now "
        "differs from the reviewed one (front-door / Guest Bob: after.ends_at "
        "2026-12-04T16:00:00Z -> 2026-12-05T16:00:00Z); plan again"
    )


def test_a_code_added_and_a_code_gone_are_named(cli: CliRunner, quickstart: Path) -> None:
    plan_file = reviewed(cli, quickstart)
    config = quickstart / "accesscodes.yaml"
    kept, cleaner = config.read_text().rsplit("      - name: Cleaner\n", 1)
    assert "schedule" in cleaner  # the back door's Cleaner, the file's last code, goes
    guest = (
        "      - {name: Guest Carol, starts_at: 2026-12-10T16:00:00, ends_at: 2026-12-12T11:00:00}"
    )
    config.write_text(kept + guest + "\n")
    assert refusal(cli, quickstart, plan_file) == (
        "Error: the locks or the config changed since the plan was saved: the plan now "
        "differs from the reviewed one (back-door / Cleaner (2026-11-24T15:00:00Z): no longer "
        "planned; back-door / Cleaner (2026-12-01T15:00:00Z): no longer planned; "
        "back-door / Guest Carol: not in the reviewed plan); plan again"
    )


def test_a_code_that_only_moved_in_the_file_says_where_it_is_written_now(
    cli: CliRunner, quickstart: Path
) -> None:
    plan_file = reviewed(cli, quickstart)
    edit_config(quickstart, "  back-door:\n", "\n  back-door:\n")  # its codes: one line down
    error = refusal(cli, quickstart, plan_file)
    assert error.startswith(
        "Error: the locks or the config changed since the plan was saved: the plan now "
        "differs from the reviewed one (back-door / Alice (resident): source /"
    )
    # a long path is cut in the middle: the line numbers, at the end, stay
    assert "/accesscodes.yaml:30:9 -> /" in error and "/accesscodes.yaml:31:9; " in error
    assert error.count("back-door / Cleaner (") == 2


def test_more_than_five_differences_end_with_how_many_more(
    cli: CliRunner, quickstart: Path
) -> None:
    plan_file = reviewed(cli, quickstart)
    guests = "".join(
        f"      - {{name: Guest {n}, starts_at: 2026-12-1{n}T16:00:00, "
        f"ends_at: 2026-12-1{n}T18:00:00}}\n"
        for n in range(7)
    )
    (quickstart / "accesscodes.yaml").write_text(  # the back door's, after its Cleaner
        (quickstart / "accesscodes.yaml").read_text() + guests
    )
    error = refusal(cli, quickstart, plan_file)
    assert error.count(": not in the reviewed plan") == 5
    assert error.endswith("back-door / Guest 4: not in the reviewed plan; and 2 more); plan again")


def test_a_pin_changed_after_review_is_said_without_showing_it(
    cli: CliRunner, quickstart: Path
) -> None:
    plan_file = reviewed(cli, quickstart)
    edit_config(quickstart, 'code: "482913"', 'code: "905172"')
    assert refusal(cli, quickstart, plan_file) == (
        "Error: the locks or the config changed since the plan was saved: the plan now "
        "differs from the reviewed one (the PIN changed: no field of the plan differs, only "
        "its checksum); plan again"
    )


def test_a_state_shown_whole_keeps_its_pin_masked() -> None:
    """A `before` that appears as a whole is shown as JSON: any `code` in it stays masked,
    even one an edited file or a future field would carry in the clear."""
    change = {"action": "update", "device": "door", "name": "Ann", "before": None}
    later = {**change, "before": {"code": "736194", "ends_at": None}}
    moved = moved_since_review({"changes": [change]}, {"changes": [later]})
    assert moved == ['door / Ann: before none -> {"code":"****","ends_at":null}']
    assert "736194" not in json.dumps(moved)


def test_an_edited_file_is_refused_first_naming_its_first_field_in_file_order() -> None:
    """In-process, so mutation testing sees it: the seal is matched before the TTL, and the
    first differing field is the first in the file, not the first deepdiff reports."""
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    changes = tuple(
        Change(Action.CREATE, DeviceKey("door"), DeviceId("lock"), name, after=CodeState("736194"))
        for name in ("Ann", "Ben", "Cal")
    )
    fresh = Plan(now=now, changes=changes, pin_key=b"k" * 32)
    file_data = sealed(fresh.to_data(), b"k" * 32)
    check_saved(file_data, fresh, ttl=timedelta(hours=24))  # as written: accepted
    file_data["summary"]["create"] = 2
    file_data["changes"][2]["name"] = "Mallory"
    file_data["changes"][1]["reasons"] = ["a reason"]
    late = Plan(now=now + timedelta(days=3), changes=changes, pin_key=b"k" * 32)
    with pytest.raises(PlanRefused) as refused:
        check_saved(file_data, late, ttl=timedelta(hours=24))  # past the TTL too: edited first
    assert str(refused.value) == (
        "the plan file was edited after it was written (its seal does not match): "
        "changes[1].reasons[0] differs ('a reason' in the file, nothing planned now); plan again"
    )
