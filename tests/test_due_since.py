"""`due_since`: a write that fell due by the schedule says since when, so a drift check can
tell time passing (a lead time reached, a window ended) from a code removed at the keypad."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import CliRunner

from reconciler.core.models import (
    AccessCodeId,
    Capabilities,
    DesiredCode,
    DesiredDevice,
    Device,
    DeviceId,
    DeviceKey,
    LiveCode,
    LiveDevice,
)
from reconciler.core.plan import Action
from reconciler.core.settings import Settings
from reconciler.planning.planner import plan

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
DOOR = DeviceKey("front-door")
LOCK = DeviceId("lock_1")
JIT = Capabilities(native_scheduling=False)  # programmed 30 min before the start


def desired(*codes: DesiredCode) -> list[DesiredDevice]:
    return [DesiredDevice(DOOR, LOCK, codes=codes)]


def live(*codes: LiveCode) -> dict[DeviceId, LiveDevice]:
    return {LOCK: LiveDevice(Device(LOCK, "Front", JIT), codes=codes)}


def guest(start: datetime, end: datetime) -> DesiredCode:
    return DesiredCode(DOOR, "Guest Bob", "736194", starts_at=start, ends_at=end)


def test_a_create_held_back_until_its_lead_time_carries_when_it_fell_due() -> None:
    start = NOW + timedelta(minutes=10)
    result = plan(
        desired(guest(start, start + timedelta(days=2))), live(), now=NOW, settings=Settings()
    )
    (change,) = result.changes
    assert change.action is Action.CREATE and change.due_at is None
    assert change.due_since == start - timedelta(minutes=30)
    assert change.to_data(show_codes=False)["due_since"] == "2026-11-23T14:40:00Z"


def test_a_create_still_held_back_has_no_due_since_yet() -> None:
    start = NOW + timedelta(days=2)
    result = plan(
        desired(guest(start, start + timedelta(days=2))), live(), now=NOW, settings=Settings()
    )
    (change,) = result.changes
    assert change.deferred and change.due_since is None
    assert "due_since" not in change.to_data(show_codes=False)


def test_a_delete_because_the_window_ended_carries_its_end() -> None:
    start, end = NOW - timedelta(days=3), NOW - timedelta(hours=1)
    still_there = LiveCode(AccessCodeId("ac_1"), LOCK, "Guest Bob", "736194", start, end)
    result = plan(desired(guest(start, end)), live(still_there), now=NOW, settings=Settings())
    (change,) = result.changes
    assert change.action is Action.DELETE and change.due_since == end


def test_a_write_for_any_other_reason_has_no_due_since() -> None:
    result = plan(
        desired(DesiredCode(DOOR, "Alice", "482913")),
        live(LiveCode(AccessCodeId("ac_9"), LOCK, "Old guest", "264819")),
        now=NOW,
        settings=Settings(prune=True),
    )
    assert [(c.action, c.due_since) for c in result.changes] == [
        (Action.CREATE, None),
        (Action.DELETE, None),
    ]
    assert all("due_since" not in c.to_data(show_codes=False) for c in result.changes)


def test_the_plan_json_of_a_guest_reaching_its_lead_time_on_the_simulator_says_since_when(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        "version: 1\nprovider: {kind: sim}\ndevices:\n  door:\n    device_id: lock_1\n"
        "    codes:\n"
        '      - {name: Guest Bob, code: "736194", prefer_native_scheduling: false,\n'
        "         starts_at: 2026-12-01T15:00:00Z, ends_at: 2026-12-04T11:00:00Z}\n"
    )
    early = cli("plan", "--format", "json", "--now", "2026-11-30T15:00:00Z")
    assert early.code == 0, early.output
    (deferred,) = json.loads(early.out)["changes"]
    assert "due_since" not in deferred and deferred["due_at"] == "2026-12-01T14:30:00Z"
    due = cli("plan", "--format", "json", "--now", "2026-12-01T14:45:00Z")
    (create,) = json.loads(due.out)["changes"]
    assert (create["action"], create["due_since"]) == ("create", "2026-12-01T14:30:00Z")
