"""Renaming a code that keeps its PIN: the code is renamed in place, never deleted first.

Issue #14: `Alice` -> `Alice Smith` with `prune: true` used to plan a create (refused by the
lock as a duplicate PIN) and a delete (carried out): Alice was left without her code.
"""

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
    Schedule,
)
from reconciler.core.plan import Action, DriftKind
from reconciler.core.settings import Settings
from reconciler.planning.planner import plan

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
DOOR = DeviceKey("front-door")
LOCK = DeviceId("lock_1")

CONFIG = """\
version: 1
provider: {kind: sim}
settings: {prune: true}
devices:
  door:
    device_id: lock_1
    codes:
      - {name: NAME, code: "736194"}
"""


def desired(*codes: DesiredCode) -> list[DesiredDevice]:
    return [DesiredDevice(DOOR, LOCK, codes=codes)]


def live(*codes: LiveCode, caps: Capabilities | None = None) -> dict[DeviceId, LiveDevice]:
    device = Device(LOCK, "Front", caps or Capabilities(native_scheduling=True))
    return {LOCK: LiveDevice(device, codes=codes)}


def on_lock(name: str, pin: str | None, n: int = 1, **kw: object) -> LiveCode:
    return LiveCode(AccessCodeId(f"ac_{n}"), LOCK, name, pin, **kw)  # type: ignore[arg-type]


def sim_codes(tmp_path: Path) -> list[dict]:
    state = json.loads((tmp_path / ".accesscodes" / "sim.json").read_text())
    return state["devices"]["lock_1"]["codes"]


def test_renaming_a_code_on_the_simulator_keeps_the_pin_on_the_lock(
    cli: CliRunner, tmp_path: Path
) -> None:
    config = tmp_path / "accesscodes.yaml"
    config.write_text(CONFIG.replace("NAME", "Alice"))
    assert cli("apply", "--auto-approve").code == 0
    (before,) = sim_codes(tmp_path)

    config.write_text(CONFIG.replace("NAME", "Alice Smith"))
    shown = cli("plan", "--format", "json")
    assert shown.code == 0, shown.output
    (change,) = json.loads(shown.out)["changes"]
    assert (change["action"], change["renamed_from"]) == ("update", "Alice")
    applied = cli("apply", "--auto-approve")
    assert applied.code == 0, applied.output
    assert "1 updated" in applied.out and "0 deleted" in applied.out
    assert "0 failed" in applied.out

    (after,) = sim_codes(tmp_path)
    assert after["name"] == "Alice Smith"
    assert after["code"] == "736194"
    assert after["access_code_id"] == before["access_code_id"]
    again = cli("plan", "--detailed-exitcode")
    assert again.code == 0, again.output


def test_a_rename_is_an_update_in_place_and_the_old_name_is_not_extraneous() -> None:
    result = plan(
        desired(DesiredCode(DOOR, "Alice Smith", "736194")),
        live(on_lock("Alice", "736194")),
        now=NOW,
        settings=Settings(prune=True),
    )
    (change,) = result.changes
    assert change.action is Action.UPDATE
    assert change.renamed_from == "Alice" and change.name == "Alice Smith"
    assert change.changed == ("name",)
    assert change.access_code_id == "ac_1"
    assert change.spec is not None and change.spec.name == "Alice Smith"
    assert change.reasons == ("renamed from 'Alice'; the same PIN stays on the lock",)
    assert DriftKind.EXTRANEOUS not in {d.kind for d in result.drift}
    assert change.to_data(show_codes=False)["renamed_from"] == "Alice"


def test_a_rename_with_a_new_window_names_every_field_it_changes() -> None:
    start, end = NOW + timedelta(days=1), NOW + timedelta(days=3)
    result = plan(
        desired(DesiredCode(DOOR, "Bob Jones", "736194", starts_at=start, ends_at=end)),
        live(on_lock("Bob", "736194", starts_at=start, ends_at=end - timedelta(days=1))),
        now=NOW,
        settings=Settings(prune=True),
    )
    (change,) = result.changes
    assert (change.action, change.renamed_from) == (Action.UPDATE, "Bob")
    assert change.changed == ("name", "ends_at")


def test_a_rename_never_takes_a_code_another_entry_claims_by_name() -> None:
    result = plan(
        desired(DesiredCode(DOOR, "Alice Smith", "736194"), DesiredCode(DOOR, "Alice", "482913")),
        live(on_lock("Alice", "736194")),
        now=NOW,
        settings=Settings(prune=True),
    )
    by_name = {c.name: c for c in result.changes}
    assert by_name["Alice"].action is Action.UPDATE
    assert by_name["Alice"].changed == ("code",) and by_name["Alice"].renamed_from is None
    assert by_name["Alice Smith"].action is Action.CREATE


def test_a_rename_of_a_recurring_code_takes_the_occurrence_with_the_same_start() -> None:
    weekly = Schedule(cron="0 10 * * TUE", duration=timedelta(hours=4))
    first = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    earlier = on_lock(
        "Cleaner",
        "639027",
        1,
        starts_at=first - timedelta(days=7),
        ends_at=first - timedelta(days=7, hours=-4),
    )
    current = on_lock("Cleaner", "639027", 2, starts_at=first, ends_at=first + timedelta(hours=4))
    result = plan(
        desired(DesiredCode(DOOR, "Cleaning crew", "639027", schedule=weekly)),
        live(earlier, current),
        now=NOW,
        settings=Settings(),
    )
    renamed = [c for c in result.changes if c.renamed_from]
    assert [(c.occurrence, c.access_code_id) for c in renamed] == [(first, "ac_2")]


def test_an_offline_code_with_the_same_pin_is_not_renamed() -> None:
    result = plan(
        desired(DesiredCode(DOOR, "Alice Smith", "736194")),
        live(on_lock("Alice", "736194", is_offline=True)),
        now=NOW,
        settings=Settings(),
    )
    assert [c.renamed_from for c in result.changes] == [None]


def test_a_lock_that_cannot_rename_gets_the_new_code_before_the_old_goes() -> None:
    caps = Capabilities(native_scheduling=True, rename_in_place=False)
    for prune in (True, False):
        result = plan(
            desired(DesiredCode(DOOR, "Alice Smith", "736194")),
            live(on_lock("Alice", "736194"), caps=caps),
            now=NOW,
            settings=Settings(prune=prune),
        )
        create, delete = result.changes
        assert (create.action, create.name, create.access_code_id) == (
            Action.CREATE,
            "Alice Smith",
            None,
        )
        assert (delete.action, delete.name, delete.access_code_id) == (
            Action.DELETE,
            "Alice",
            "ac_1",
        )
        assert delete.replaced_by == "Alice Smith" and delete.guard is None
        assert DriftKind.EXTRANEOUS not in {d.kind for d in result.drift}


def test_a_replacement_delete_goes_after_its_create_even_on_a_full_lock() -> None:
    caps = Capabilities(native_scheduling=True, rename_in_place=False, max_active_codes=3)
    result = plan(
        desired(DesiredCode(DOOR, "Alice Smith", "736194"), DesiredCode(DOOR, "Bob", "482913")),
        live(on_lock("Alice", "736194"), on_lock("Old", "264819", 2), caps=caps),
        now=NOW,
        settings=Settings(prune=True),
    )
    order = [(str(c.action), c.name) for c in result.changes]
    assert order == [
        ("delete", "Old"),
        ("create", "Alice Smith"),
        ("create", "Bob"),
        ("delete", "Alice"),
    ]


def test_renaming_a_code_on_seam_renames_it_in_place(cli: CliRunner, tmp_path: Path) -> None:
    from seamfake import SeamFake

    seam_config = CONFIG.replace("{kind: sim}", "{kind: seam, retries: 0}").replace(
        "lock_1", "august_device_1"
    )
    config = tmp_path / "accesscodes.yaml"
    with SeamFake() as fake:
        config.write_text(seam_config.replace("NAME", "Alice"))
        assert cli("apply", "--auto-approve", env=fake.env).code == 0
        (before,) = fake.list_codes("august_device_1", managed=True)
        config.write_text(seam_config.replace("NAME", "Alice Smith"))
        applied = cli("apply", "--auto-approve", env=fake.env)
        assert applied.code == 0, applied.output
        (after,) = fake.list_codes("august_device_1", managed=True)
    assert (after["name"], after["code"]) == ("Alice Smith", "736194")
    assert after["access_code_id"] == before["access_code_id"]
