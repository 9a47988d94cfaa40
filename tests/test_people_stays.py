"""People, places and stays (issue #16): one PIN per person or stay on all their doors.

Each scenario runs the real CLI on the simulator (or Seam's fake over HTTP) with a config of
two units sharing an entrance, as hosts of small buildings write it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from conftest import EXAMPLES, CliRunner
from seamfake import SeamFake

NOW = "2026-12-01T12:00:00Z"

RENTALS = """\
version: 1
provider: {kind: sim}
devices:
  entrance: {device_id: august_entrance}
  unit-a: {device_id: august_unit_a}
  unit-b: {device_id: nuki_unit_b}
places:
  unit-a: {doors: [entrance, unit-a], timezone: America/New_York}
  unit-b: {doors: [entrance, unit-b], timezone: America/New_York, check_in: "15:00"}
people:
  - name: Owner
    places: [unit-a, unit-b]
stays:
  - guest: Bob Smith
    place: unit-a
    check_in: 2026-12-03
    check_out: CHECK_OUT
  - guest: Carol Jones
    place: unit-b
    check_in: 2026-12-03
    check_out: 2026-12-06
"""


def write(tmp_path: Path, text: str = RENTALS, check_out: str = "2026-12-06") -> Path:
    path = tmp_path / "accesscodes.yaml"
    path.write_text(text.replace("CHECK_OUT", check_out), encoding="utf-8")
    return path


def pins_on(tmp_path: Path, device_id: str) -> dict[str, str]:
    """Each code's PIN on a simulated lock, by name."""
    state = json.loads((tmp_path / ".accesscodes" / "sim.json").read_text())
    return {c["name"]: c["code"] for c in state["devices"][device_id]["codes"]}


def plan_json(cli: CliRunner, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    shown = cli("plan", "--format", "json", "--now", NOW, *extra, env=env)
    assert shown.code == 0, shown.output
    return json.loads(shown.out)


def apply(cli: CliRunner, *extra: str, env: dict[str, str] | None = None) -> str:
    done = cli("apply", "--auto-approve", "--now", NOW, *extra, env=env)
    assert done.code == 0, done.output
    return done.out


def test_a_stay_has_one_pin_on_every_door_of_its_place_and_the_entrance_tells_stays_apart(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path)
    apply(cli)
    entrance = pins_on(tmp_path, "august_entrance")
    unit_a, unit_b = pins_on(tmp_path, "august_unit_a"), pins_on(tmp_path, "nuki_unit_b")
    assert entrance["Bob Smith"] == unit_a["Bob Smith"]
    assert entrance["Carol Jones"] == unit_b["Carol Jones"]
    assert entrance["Bob Smith"] != entrance["Carol Jones"]
    assert entrance["Owner"] == unit_a["Owner"] == unit_b["Owner"]
    assert "0" not in unit_b["Owner"]  # valid on the Nuki too (no zeros): the intersection
    assert len(set(entrance.values())) == 3
    assert "Carol Jones" not in unit_a and "Bob Smith" not in unit_b


def test_extending_a_stay_by_a_day_is_one_update_per_door_with_the_same_pin(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path)
    apply(cli)
    before = pins_on(tmp_path, "august_entrance")["Bob Smith"]
    write(tmp_path, check_out="2026-12-07")
    changes = [c for c in plan_json(cli)["changes"] if c["action"] != "noop"]
    assert [(c["device"], c["action"], c["changed"]) for c in changes] == [
        ("entrance", "update", ["ends_at"]),
        ("unit-a", "update", ["ends_at"]),
    ]
    assert {c["after"]["ends_at"] for c in changes} == {"2026-12-07T16:00:00Z"}
    out = apply(cli)
    assert "0 created, 2 updated, 0 deleted" in out
    assert pins_on(tmp_path, "august_entrance")["Bob Smith"] == before
    assert pins_on(tmp_path, "august_unit_a")["Bob Smith"] == before


def test_a_replan_after_apply_is_empty_and_no_pin_changes_across_an_offline_lock_and_a_restart(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path)
    apply(cli)
    pins = pins_on(tmp_path, "august_entrance")
    assert plan_json(cli)["summary"] == {
        "create": 0, "update": 0, "delete": 0, "noop": 7, "deferred": 0, "blocked": 0,
    }  # fmt: skip
    assert cli("sim", "tamper", "offline", "august_unit_a").code == 0
    assert {c["action"] for c in plan_json(cli)["changes"]} == {"noop"}
    apply(cli)  # a cycle with the lock away
    assert cli("sim", "tamper", "online", "august_unit_a").code == 0
    assert plan_json(cli, "--detailed-exitcode")["summary"]["update"] == 0
    assert pins_on(tmp_path, "august_entrance") == pins
    assert pins_on(tmp_path, "august_unit_a")["Bob Smith"] == pins["Bob Smith"]


def test_a_lost_state_store_takes_the_pins_from_the_doors_instead_of_rotating_them(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path)
    apply(cli)
    pins = pins_on(tmp_path, "august_entrance")
    (tmp_path / ".accesscodes" / "state.db").unlink()
    assert plan_json(cli)["summary"]["update"] == 0
    apply(cli)
    assert pins_on(tmp_path, "august_entrance") == pins


def test_new_pins_are_masked_in_the_plan_and_told_once_at_apply(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path)
    shown = plan_json(cli, "--show-codes")
    created = [c for c in shown["changes"] if c["name"] == "Bob Smith"]
    assert {c["after"]["code"] for c in created} == {"****"}  # drawn again at apply
    assert all(c["after"]["new_pin"] for c in created)
    out = apply(cli, "--show-codes")
    pin = pins_on(tmp_path, "august_entrance")["Bob Smith"]
    assert f"New PIN for Bob Smith: {pin} (kept in the state store)" in out
    assert "New PIN" not in apply(cli)  # kept: told once
    again = plan_json(cli, "--show-codes")
    assert {c["after"]["code"] for c in again["changes"] if c["name"] == "Bob Smith"} == {pin}


def test_a_reviewed_plan_with_new_pins_still_matches_at_apply(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path)
    saved = cli("plan", "--now", NOW, "--out", "plan.json")
    assert saved.code == 0, saved.output
    done = cli("apply", "--now", NOW, "plan.json")
    assert done.code == 0, done.output
    assert "The plan matches the saved one" in done.out


def test_rotate_gives_exactly_one_person_a_new_pin_on_all_their_doors(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path)
    apply(cli)
    before = {d: pins_on(tmp_path, d) for d in ("august_entrance", "august_unit_a", "nuki_unit_b")}
    rotated = cli("rotate", "Owner")
    assert rotated.code == 0, rotated.output
    changes = [c for c in plan_json(cli)["changes"] if c["action"] != "noop"]
    assert [(c["device"], c["name"], c["changed"]) for c in changes] == [
        ("entrance", "Owner", ["code"]),
        ("unit-a", "Owner", ["code"]),
        ("unit-b", "Owner", ["code"]),
    ]
    apply(cli)
    after = {d: pins_on(tmp_path, d) for d in before}
    new = after["august_entrance"]["Owner"]
    assert new != before["august_entrance"]["Owner"]
    assert {pins["Owner"] for pins in after.values()} == {new}
    for door, pins in after.items():
        assert {k: v for k, v in pins.items() if k != "Owner"} == {
            k: v for k, v in before[door].items() if k != "Owner"
        }
    assert plan_json(cli)["summary"]["update"] == 0


def test_rotate_refuses_an_unknown_name_and_a_pin_written_in_the_config(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(
        tmp_path,
        RENTALS.replace("  - guest: Bob Smith\n", '  - guest: Bob Smith\n    code: "730591"\n'),
    )
    unknown = cli("rotate", "Zed")
    assert unknown.code == 1 and "no person or stay is called 'Zed'" in unknown.err
    given = cli("rotate", "Bob Smith")
    assert given.code == 1 and "written in the config" in given.err


def test_a_door_that_picks_its_own_pins_is_an_error_naming_the_person_and_the_doors(
    cli: CliRunner, tmp_path: Path
) -> None:
    config = """\
version: 1
provider: {kind: sim}
devices:
  front: {device_id: august_front}
  safe-box: {device_id: dormakaba_oracode_box}
people:
  - name: Dana
    doors: [front, safe-box]
"""
    write(tmp_path, config)
    shown = plan_json(cli)
    blocked = {c["device"]: c["reasons"] for c in shown["changes"]}
    assert set(blocked) == {"front", "safe-box"}
    for reasons in blocked.values():
        assert any(
            "no one PIN fits all doors of Dana (front, safe-box)" in r
            and "safe-box picks its own PINs" in r
            and "pin_per_door: true" in r
            for r in reasons
        ), reasons
    assert all(c["action"] == "blocked" for c in shown["changes"])
    assert all(c["source"] == "accesscodes.yaml:7:5" for c in shown["changes"])


def test_lengths_that_do_not_meet_are_an_error_and_pin_per_door_lets_each_door_differ(
    cli: CliRunner, tmp_path: Path
) -> None:
    config = """\
version: 1
provider:
  kind: sim
  fleet:
    lock_short: {profile: generic}
    lock_long: {profile: lockly}
devices:
  short: {device_id: lock_short}
  long: {device_id: lock_long}
people:
  - name: Eve
    code: "4826"
    doors: [short, long]
"""
    write(tmp_path, config)
    shown = plan_json(cli)
    long_door = next(c for c in shown["changes"] if c["device"] == "long")
    assert long_door["action"] == "blocked"
    assert "Eve's PIN cannot go on long" in long_door["reasons"][0]
    assert next(c for c in shown["changes"] if c["device"] == "short")["action"] == "create"

    write(tmp_path, config.replace('    code: "4826"\n', "    pin_per_door: true\n"))
    apply(cli)
    assert len(pins_on(tmp_path, "lock_long")["Eve"]) >= 6  # the lock's own lengths
    assert "Eve" in pins_on(tmp_path, "lock_short")


def test_the_text_plan_groups_the_changes_by_person_and_stay(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path)
    shown = cli("plan", "--now", NOW)
    assert shown.code == 0, shown.output
    assert "Bob Smith: create on entrance, unit-a" in shown.out
    assert "Carol Jones: create on entrance, unit-b" in shown.out
    assert "Owner: create on entrance, unit-a, unit-b" in shown.out
    markdown = cli("plan", "--now", NOW, "--format", "markdown")
    assert "Bob Smith: create on entrance, unit-a" in markdown.out


def test_the_same_pin_for_two_people_on_a_shared_door_is_refused_before_anything_is_read(
    cli: CliRunner, tmp_path: Path
) -> None:
    config = RENTALS.replace("  - guest: Bob Smith\n", '  - guest: Bob Smith\n    code: "730591"\n')
    config = config.replace(
        "  - guest: Carol Jones\n", '  - guest: Carol Jones\n    code: "730591"\n'
    )
    write(tmp_path, config)
    refused = cli("plan", "--now", NOW)
    assert refused.code == 1
    assert "accesscodes.yaml:" in refused.err and "same PIN as 'Bob Smith'" in refused.err
    assert not (tmp_path / ".accesscodes" / "sim.json").exists() or "nothing was applied" in (
        refused.err
    )


def test_one_guest_may_keep_a_pin_over_two_stays_one_after_the_other(
    cli: CliRunner, tmp_path: Path
) -> None:
    config = RENTALS.replace(
        "  - guest: Carol Jones\n    place: unit-b\n    check_in: 2026-12-03\n",
        "  - guest: Carol Jones\n    place: unit-a\n    check_in: 2026-12-07\n",
    ).replace("check_out: 2026-12-06", "check_out: 2026-12-09")
    config = config.replace("  - guest: Bob Smith\n", '  - guest: Bob Smith\n    code: "730591"\n')
    config = config.replace(
        "  - guest: Carol Jones\n", '  - guest: Carol Jones\n    code: "730591"\n'
    )
    write(tmp_path, config)
    assert cli("validate", "--skip-devices").code == 0


BROKEN = """\
version: 1
provider: {kind: sim}
devices:
  front:
    device_id: august_front
    codes:
      - {name: Alice, code: "583920"}
places:
  house: {doors: [front, garage], timezone: Mars/Olympus}
people:
  - name: Alice
    doors: [front]
  - name: Zed
    places: [villa]
  - name: Pat
    code: "12x4"
    doors: [front]
stays:
  - guest: Bob
    place: house
    check_in: 2026-12-04
    check_out: 2026-12-01
  - guest: Cy
    place: nowhere
    check_in: 2026-12-04
    check_out: 2026-12-05
"""


def test_every_mistake_in_people_places_and_stays_names_its_file_and_line(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path, BROKEN)
    refused = cli("validate")
    assert refused.code == 1
    lines = refused.err.splitlines()
    expected = [
        "accesscodes.yaml:9:26: places.house.doors[1]: unknown door 'garage'",
        "accesscodes.yaml:9:45: places.house.timezone: unknown time zone 'Mars/Olympus'",
        "accesscodes.yaml:14:14: people[1].places[0]: unknown place 'villa'",
        "accesscodes.yaml:22:16: stays[0].check_out: check_out must be after check_in",
        "accesscodes.yaml:24:12: stays[1].place: unknown place 'nowhere'",
        "accesscodes.yaml:11:11: people[0].name: 'Alice' is also written as a code under "
        "devices.front",
    ]
    # The schema reports a malformed PIN first, alone, never quoting it; the rules come next.
    assert lines[0] == "accesscodes.yaml:16:11: people[2].code: a PIN must be digits only (0-9)"
    assert "12x4" not in refused.err
    write(tmp_path, BROKEN.replace('"12x4"', '"583921"'))
    refused = cli("validate")
    lines = refused.err.splitlines()
    for message in expected:
        assert any(line.startswith(message) for line in lines), (message, refused.err)
    assert "583920" not in refused.err and "583921" not in refused.err


def test_a_stay_with_a_bad_date_names_its_line(cli: CliRunner, tmp_path: Path) -> None:
    write(tmp_path, RENTALS.replace("check_in: 2026-12-03", "check_in: 2026-13-03", 1))
    refused = cli("validate")
    assert refused.code == 1
    assert refused.err.startswith(
        "accesscodes.yaml:16:15: stays[0].check_in: must be a date (2026-12-01)"
    ), refused.err


def test_a_door_short_of_slots_gives_them_to_the_soonest_stays_and_never_displaces_a_guest(
    cli: CliRunner, tmp_path: Path
) -> None:
    """The Seam fake's constrained lock holds 3 codes. A guest already in, two stays due
    later this week and a fourth after them: the latest is unplaced, with the reason."""
    config = """\
version: 1
provider: {kind: seam, retries: 0}
settings: {send_codes: at_once}
devices:
  door: {device_id: constrained_lock_1}
places:
  flat: {doors: [door], timezone: UTC}
stays:
  - {guest: Ann, place: flat, check_in: 2026-11-30, check_out: 2026-12-02}
"""
    later = """\
  - {guest: Dan, place: flat, check_in: 2026-12-09, check_out: 2026-12-11}
  - {guest: Bea, place: flat, check_in: 2026-12-03, check_out: 2026-12-05}
  - {guest: Cid, place: flat, check_in: 2026-12-06, check_out: 2026-12-08}
"""
    with SeamFake() as fake:
        write(tmp_path, config)
        apply(cli, env=fake.env)
        write(tmp_path, config + later)
        shown = plan_json(cli, env=fake.env)
        by_name = {c["name"]: c for c in shown["changes"]}
        assert by_name["Ann"]["action"] == "noop"  # begun: keeps her slot
        assert (by_name["Bea"]["action"], by_name["Cid"]["action"]) == ("create", "create")
        assert by_name["Dan"]["action"] == "blocked"
        assert by_name["Dan"]["reasons"][0].startswith("unplaced: no free slot")
        done = cli("apply", "--auto-approve", "--now", NOW, env=fake.env)
        assert done.code == 1 and "Blocked: door / Dan: unplaced" in done.err, done.output
        names = sorted(c["name"] for c in fake.list_codes("constrained_lock_1", managed=True))
        assert names == ["Ann", "Bea", "Cid"]


def test_stays_over_the_march_and_november_changes_keep_local_check_in_and_out_in_two_zones(
    cli: CliRunner, tmp_path: Path
) -> None:
    """New York changes on 14 March and 7 November 2027, Berlin on 28 March and 31 October:
    each stay starts at 16:00 and ends at 11:00 on its own place's clock."""
    config = """\
version: 1
provider: {kind: sim}
devices:
  ny-door: {device_id: august_ny}
  berlin-door: {device_id: august_berlin}
places:
  ny: {doors: [ny-door], timezone: America/New_York}
  berlin: {doors: [berlin-door], timezone: Europe/Berlin}
stays:
  - {guest: Spring NY, place: ny, check_in: 2027-03-01, check_out: 2027-04-05}
  - {guest: Spring Berlin, place: berlin, check_in: 2027-03-01, check_out: 2027-04-05}
  - {guest: Autumn NY, place: ny, check_in: 2027-10-25, check_out: 2027-11-10}
  - {guest: Autumn Berlin, place: berlin, check_in: 2027-10-25, check_out: 2027-11-10}
"""
    write(tmp_path, config)
    shown = cli("plan", "--format", "json", "--now", "2027-02-20T00:00:00Z")
    assert shown.code == 0, shown.output
    windows = {
        c["name"]: (c["after"]["starts_at"], c["after"]["ends_at"])
        for c in json.loads(shown.out)["changes"]
    }
    assert windows == {
        "Spring NY": ("2027-03-01T21:00:00Z", "2027-04-05T15:00:00Z"),  # EST in, EDT out
        "Spring Berlin": ("2027-03-01T15:00:00Z", "2027-04-05T09:00:00Z"),  # CET in, CEST out
        "Autumn NY": ("2027-10-25T20:00:00Z", "2027-11-10T16:00:00Z"),  # EDT in, EST out
        "Autumn Berlin": ("2027-10-25T14:00:00Z", "2027-11-10T10:00:00Z"),  # CEST in, CET out
    }


def test_the_rentals_example_plans_on_the_simulator_with_no_set_up_on_any_day(
    cli: CliRunner, tmp_path: Path
) -> None:
    example = tmp_path / "rentals"
    shutil.copytree(EXAMPLES / "rentals", example, ignore=shutil.ignore_patterns(".accesscodes"))
    for now in (None, "2031-06-01T09:00:00Z"):
        args = ["plan", "-c", "rentals", "--detailed-exitcode"]
        shown = cli(*args, *(["--now", now] if now else []))
        assert shown.code == 2, shown.output  # something to do
        assert "Owner: create on entrance, garden-door, top-door" in shown.out
    assert not (example / ".accesscodes" / "state.db").exists()  # a plan keeps no PINs


SEAM_RENTAL = """\
version: 1
provider: {kind: seam, retries: 0}
devices:
  entrance: {device_id: august_device_1}
  flat: {device_id: august_device_2}
places:
  flat: {doors: [entrance, flat], timezone: America/New_York}
people:
  - {name: Owner, places: [flat]}
stays:
  - {guest: Bob Smith, place: flat, check_in: 2026-12-02, check_out: CHECK_OUT}
"""


def test_on_seams_fake_a_stay_extended_by_a_day_keeps_its_pin_and_codes_on_both_doors(
    cli: CliRunner, tmp_path: Path
) -> None:
    with SeamFake() as fake:
        write(tmp_path, SEAM_RENTAL, check_out="2026-12-05")
        apply(cli, env=fake.env)

        def codes() -> dict[tuple[str, str], dict[str, Any]]:
            return {
                (device, c["name"]): c
                for device in ("august_device_1", "august_device_2")
                for c in fake.list_codes(device, managed=True)
            }

        before = codes()
        assert (
            before[("august_device_1", "Bob Smith")]["code"]
            == (before[("august_device_2", "Bob Smith")]["code"])
        )
        assert (
            before[("august_device_1", "Owner")]["code"]
            != (before[("august_device_1", "Bob Smith")]["code"])
        )
        write(tmp_path, SEAM_RENTAL, check_out="2026-12-06")
        changes = [c for c in plan_json(cli, env=fake.env)["changes"] if c["action"] != "noop"]
        assert [(c["device"], c["action"], c["changed"]) for c in changes] == [
            ("entrance", "update", ["ends_at"]),
            ("flat", "update", ["ends_at"]),
        ]
        assert "0 created, 2 updated, 0 deleted" in apply(cli, env=fake.env)
        after = codes()
        assert {k: v["access_code_id"] for k, v in after.items()} == {
            k: v["access_code_id"] for k, v in before.items()
        }
        assert {k: v["code"] for k, v in after.items()} == {k: v["code"] for k, v in before.items()}
        assert after[("august_device_1", "Bob Smith")]["ends_at"].startswith("2026-12-06T16:00")
        assert plan_json(cli, "--detailed-exitcode", env=fake.env)["summary"]["update"] == 0


def test_a_stay_with_an_id_renamed_to_its_guests_full_name_is_renamed_in_place(
    cli: CliRunner, tmp_path: Path
) -> None:
    with_id = RENTALS.replace("  - guest: Bob Smith\n", "  - guest: Bob Smith\n    id: HM4X2\n")
    write(tmp_path, with_id)
    apply(cli)
    pin = pins_on(tmp_path, "august_entrance")["Bob Smith"]
    write(tmp_path, with_id.replace("guest: Bob Smith", "guest: Robert Smith"))
    changes = [c for c in plan_json(cli)["changes"] if c["action"] != "noop"]
    assert [(c["device"], c["action"], c.get("renamed_from")) for c in changes] == [
        ("entrance", "update", "Bob Smith"),
        ("unit-a", "update", "Bob Smith"),
    ]
    apply(cli)
    assert pins_on(tmp_path, "august_entrance")["Robert Smith"] == pin
    assert pins_on(tmp_path, "august_unit_a")["Robert Smith"] == pin


def test_one_guest_booking_both_flats_gets_a_code_per_flat_on_the_shared_entrance(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path, RENTALS.replace("guest: Carol Jones", "guest: Bob Smith"))
    apply(cli)
    entrance = pins_on(tmp_path, "august_entrance")
    assert {"Bob Smith (unit-a)", "Bob Smith (unit-b)"} <= set(entrance)
    assert (
        entrance["Bob Smith (unit-a)"] == pins_on(tmp_path, "august_unit_a")["Bob Smith (unit-a)"]
    )
    assert entrance["Bob Smith (unit-a)"] != entrance["Bob Smith (unit-b)"]
    assert plan_json(cli, "--detailed-exitcode")["summary"]["create"] == 0


def test_a_stay_that_is_over_gets_no_pin(cli: CliRunner, tmp_path: Path) -> None:
    write(
        tmp_path,
        RENTALS.replace(
            "check_in: 2026-12-03\n    check_out: CHECK_OUT",
            "check_in: 2026-11-20\n    check_out: 2026-11-23",
        ),
    )
    out = apply(cli)
    assert "New PIN for Carol Jones" in out and "Bob Smith" not in out
    assert "Bob Smith" not in pins_on(tmp_path, "august_entrance")


def test_the_cleaner_of_a_place_without_a_zone_comes_after_check_out_in_the_doors_zone(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        """\
version: 1
provider: {kind: sim}
devices:
  flat: {device_id: august_flat, timezone: America/New_York}
places:
  flat: {doors: [flat], turnover: {name: Cleaner, max: 4h}}
stays:
  - {guest: Bob Smith, place: flat, check_in: 2026-12-03, check_out: 2026-12-06}
""",
        encoding="utf-8",
    )
    windows = {
        c["name"]: (c["after"]["starts_at"], c["after"]["ends_at"])
        for c in plan_json(cli)["changes"]
    }
    # Bob's code and the cleaner's window are both read in the door's zone (11:00 EST)
    assert windows["Bob Smith"][1] == "2026-12-06T16:00:00Z"
    assert windows["Cleaner"] == ("2026-12-06T16:00:00Z", "2026-12-06T20:00:00Z")
