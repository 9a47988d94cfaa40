"""Devices are made as the YAML reader reaches them (`config.devices.device_as_read`): the
fleet's data is never whole in memory, and what the config means is what it meant before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.config.load import load_config
from reconciler.config.yamlevents import DevicePlaces
from reconciler.config.yamlsource import complete_positions, load_document, load_documents
from reconciler.core.errors import ConfigError

FLEET = """\
version: 1
devices:
  front-door:
    device_id: lock_front
    codes:
      - {name: Alice, code: "482913"}
      - name: Bob
        code: "736194"
  back-door:
    device_id: lock_back
    codes: []
"""


def test_each_device_entry_is_handed_over_as_read_and_what_is_made_replaces_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET)
    seen: list[tuple[str, Any, DevicePlaces]] = []

    def made(key: str, data: Any, places: DevicePlaces) -> str:
        seen.append((key, data, places))
        return f"made {key}"

    (document,) = load_documents([path], environ={}, complete=False, on_device=made)
    assert document.data["devices"] == {
        "front-door": "made front-door",
        "back-door": "made back-door",
    }
    key, data, places = seen[0]
    assert key == "front-door" and data["codes"][1] == {"name": "Bob", "code": "736194"}
    assert (places.key.line, places.key.column) == (3, 3)
    assert places.values[("devices", "front-door", "codes", 1)].line == 7
    # the made device's inner positions are its own, not the document's
    assert not [p for p in document.values if len(p) > 2], document.values


def test_an_entry_the_hook_declines_keeps_its_data_and_positions(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET)
    (document,) = load_documents([path], environ={}, complete=False, on_device=lambda *_: None)
    assert document.data["devices"]["front-door"]["codes"][0]["name"] == "Alice"
    assert document.values[("devices", "front-door", "codes", 1)].line == 7


def test_codes_made_as_read_point_at_the_lines_that_wrote_them(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET)
    front, back = load_config(path, environ={}).devices
    assert [(c.name, c.code, c.source.line) for c in front.codes] == [
        ("Alice", "482913", 6),
        ("Bob", "736194", 7),
    ]
    assert (front.source.line, back.source.line, back.codes) == (3, 9, ())


def test_a_window_read_in_the_settings_zone_written_after_the_devices(tmp_path: Path) -> None:
    """A naive starts_at against an ends_at with an offset: whether the window is in order
    depends on `settings.timezone`, which is written below the device here."""
    device = (
        "version: 1\ndevices:\n  door:\n    device_id: lock_1\n    codes:\n"
        '      - name: Guest\n        code: "482913"\n'
        "        starts_at: 2026-12-10T10:00:00\n        ends_at: 2026-12-10T10:30:00+00:00\n"
    )
    tokyo = tmp_path / "tokyo.yaml"  # 10:00 in Tokyo is 01:00 UTC: in order
    tokyo.write_text(device + "settings:\n  timezone: Asia/Tokyo\n")
    assert load_config(tokyo, environ={}).devices[0].codes[0].name == "Guest"
    new_york = tmp_path / "new_york.yaml"  # 10:00 in New York is 15:00 UTC: after ends_at
    new_york.write_text(device + "settings:\n  timezone: America/New_York\n")
    with pytest.raises(ConfigError) as caught:
        load_config(new_york, environ={})
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (9, "devices.door.codes[0].ends_at")
    assert "ends_at must be after starts_at" in problem.message


def test_a_device_written_as_an_alias_of_another_is_the_same_device(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "version: 1\ndevices:\n"
        '  a: &door\n    device_id: lock_a\n    codes:\n      - {name: Alice, code: "482913"}\n'
        "  b:\n    <<: *door\n    device_id: lock_b\n"
    )
    a, b = load_config(path, environ={}).devices
    assert (a.device_id, b.device_id) == ("lock_a", "lock_b")
    assert [c.code for c in a.codes] == [c.code for c in b.codes] == ["482913"]


def test_a_device_id_named_twice_is_refused_at_the_second(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "version: 1\ndevices:\n  a:\n    device_id: lock_1\n  b:\n    device_id: lock_1\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    (problem,) = caught.value.problems
    assert problem.line == 6 and "already used by device 'a'" in problem.message


def test_a_file_is_parsed_as_it_is_read_and_read_again_for_a_scalars_place(
    tmp_path: Path,
) -> None:
    """The parser reads a file as it goes (its text is not kept); a problem on a scalar,
    whose position a partial read does not keep, has it from the file read again."""
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET)
    document = load_document(path, environ={}, complete=False)
    pin = ("devices", "front-door", "codes", 1, "code")
    assert document.text == "" and pin not in document.values
    full = complete_positions(document, {})
    assert (full.values[pin].line, full.values[pin].column) == (8, 15)
    assert full.data == document.data
