"""A loaded config keeps each device's written codes compactly (`core.written`): the codes
read back from it are the codes as written, field for field and line for line."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.config.devices import PLAIN_FIELDS
from reconciler.config.load import load_config
from reconciler.config.schema import CodeConfig
from reconciler.core.errors import ConfigError
from reconciler.core.models import DesiredCode, DeviceKey, Holder, Schedule, SourceRef
from reconciler.core.written import WrittenCodes, has_holder_codes, joined, slot_maker, whole

FRONT = DeviceKey("front")
FILE = "accesscodes.yaml"


def code(name: str, line: int, **fields: object) -> DesiredCode:
    return DesiredCode(device=FRONT, name=name, source=SourceRef(FILE, line, 9), **fields)  # type: ignore[arg-type]


def as_read(codes: tuple[DesiredCode, ...] | WrittenCodes) -> list[tuple[object, ...]]:
    """Each code with the fields equality leaves out (where it was written)."""
    return [(c, c.source, c.config_path) for c in codes]


MIXED = (
    code("Ann", 3, code="482913"),
    code(
        "Guest",
        4,
        code="572910",
        starts_at=datetime(2027, 1, 2, 16),
        ends_at=datetime(2027, 1, 5, 11),
    ),
    code("Cleaner", 5, code="661204", schedule=Schedule("0 10 * * 1", timedelta(hours=2))),
    code("Owner", 6, code="730155", protected=True),
    code("Gone", 7, code="840266", revoke=True),
    code("Offline", 8, offline=True, one_time_use=True, starts_at=datetime(2027, 1, 2, tzinfo=UTC)),
    DesiredCode(
        device=FRONT, name="Other file", code="951377", source=SourceRef("more.yaml", 2, 9)
    ),
    DesiredCode(device=FRONT, name="Nowhere", code="162488"),
    code("Zoned", 9, code="273599", timezone="Europe/Paris"),
)


def test_the_codes_read_back_are_the_codes_written() -> None:
    written = WrittenCodes(FRONT, FILE, MIXED)
    assert as_read(written) == as_read(MIXED)
    assert [type(c) for c in written] == [DesiredCode] * len(MIXED)


def test_names_and_pins_of_any_length_and_script_come_back_apart() -> None:
    """A device's names and PINs are kept as one text: each comes back whole, a code without
    a PIN stays without one, and a window stays with its own code."""
    window = {"starts_at": datetime(2027, 1, 2, 16), "ends_at": datetime(2027, 1, 5, 11)}
    codes = (
        code("Zoë Müller-Łukasiewicz 🏠", 3, code="48291377"),
        code("", 4, code="5729"),
        code("Generated", 5, **window),
        code("名前", 6, code="661204"),
        code("Ann", 7, code="482913", ends_at=window["ends_at"]),
    )
    written = WrittenCodes(FRONT, FILE, codes)
    assert as_read(written) == as_read(codes)
    assert [c.code for c in written] == ["48291377", "5729", None, "661204", "482913"]
    assert [(c.starts_at, c.ends_at) for c in written][2:] == [
        (window["starts_at"], window["ends_at"]),
        (None, None),
        (None, window["ends_at"]),
    ]


def test_it_is_equal_to_the_tuple_of_its_codes() -> None:
    written = WrittenCodes(FRONT, FILE, MIXED[:3])
    assert written == MIXED[:3] and hash(written) == hash(MIXED[:3])
    assert written != MIXED[:2]
    assert len(written) == 3 and written[1] == MIXED[1] and written[-1] == MIXED[2]
    assert written[1:] == MIXED[1:3] and written.index(MIXED[2]) == 2
    assert MIXED[0] in written and MIXED[4] not in written
    assert list(reversed(written)) == list(reversed(MIXED[:3]))


def test_people_and_stays_codes_follow_the_written_ones() -> None:
    holder = Holder(key="person:Bo", label="Bo", kind="person")
    bo = DesiredCode(device=FRONT, name="Bo", holder=holder, config_path="people[0]")
    written = WrittenCodes(FRONT, FILE, MIXED[:2])
    both = joined(written, (bo,))
    assert isinstance(both, WrittenCodes) and both == (*MIXED[:2], bo)
    assert not has_holder_codes(written) and has_holder_codes(both)
    assert joined(MIXED[:2], (bo,)) == (*MIXED[:2], bo)


def test_a_device_walked_more_than_once_has_its_codes_made_once(tmp_path: Path) -> None:
    device = load_config(_write(tmp_path, PLAIN_FLEET)).devices[0]
    assert isinstance(device.codes, WrittenCodes)
    made = whole(device)
    assert isinstance(made.codes, tuple) and made == device and whole(made) is made


PLAIN_FLEET = """\
version: 1
settings: {timezone: UTC}
devices:
  front:
    device_id: lock_front
    codes:
      - {name: Ann, code: "482913"}
      - name: Guest
        code: "572910"
        starts_at: 2027-01-02T16:00:00
        ends_at: 2027-01-05T11:00:00+01:00
      - {name: Cleaner, code: "661204", schedule: {cron: "0 10 * * 1", duration: 2h}}
      - {name: Owner, code: "730155", protected: true}
      - {name: Gone, code: "840266", revoke: true}
      - {name: Late, code: "951377", prefer_native_scheduling: false}
people:
  - {name: Bo, code: "162488", doors: [front]}
"""


def test_a_loaded_device_has_each_code_as_written(tmp_path: Path) -> None:
    path = _write(tmp_path, PLAIN_FLEET)
    (device,) = load_config(path, environ={}).devices
    assert isinstance(device.codes, WrittenCodes)
    got = [
        (c.name, c.code, c.source and c.source.line, c.schedule is not None, c.protected, c.revoke)
        for c in device.codes
    ]
    assert got == [
        ("Ann", "482913", 7, False, False, False),
        ("Guest", "572910", 8, False, False, False),
        ("Cleaner", "661204", 12, True, False, False),
        ("Owner", "730155", 13, False, True, False),
        ("Gone", "840266", 14, False, False, True),
        ("Late", "951377", 15, False, False, False),
        ("Bo", "162488", 17, False, False, False),
    ]
    guest, late, bo = device.codes[1], device.codes[5], device.codes[6]
    assert guest.starts_at == datetime(2027, 1, 2, 16)
    assert guest.ends_at == datetime(2027, 1, 5, 11, tzinfo=guest.ends_at.tzinfo)
    assert guest.ends_at.utcoffset() == timedelta(hours=1)
    assert late.prefer_native_scheduling is False
    assert bo.holder is not None and bo.config_path == "people[0]"
    assert all(str(c.source).startswith(str(path)) for c in device.codes)


def test_a_weak_pin_in_a_later_device_is_named_at_its_own_line(tmp_path: Path) -> None:
    text = PLAIN_FLEET.replace('people:\n  - {name: Bo, code: "162488", doors: [front]}\n', "")
    text += (
        "  back:\n    device_id: lock_back\n    codes:\n"
        '      - {name: Ann, code: "482913"}\n      - {name: Dee, code: "123456"}\n'
    )
    with pytest.raises(ConfigError) as refused:
        load_config(_write(tmp_path, text), environ={})
    (problem,) = refused.value.problems
    assert (problem.path, problem.line) == ("devices.back.codes[1].code", 20)


def test_every_field_of_a_written_code_is_kept_or_known() -> None:
    """A field added to `CodeConfig` must be told to `devices._is_plain`, or it would be lost
    for the codes kept as `PlainCode`s: this test fails until it is."""
    known = {
        "schedule",
        "offline",
        "one_time_use",
        "prefer_native_scheduling",
        "protected",
        "revoke",
    }
    assert set(CodeConfig.model_fields) == PLAIN_FIELDS | known


def _write(folder: Path, text: str) -> Path:
    path = folder / FILE
    path.write_text(text)
    return path


@dataclass(frozen=True, slots=True)
class _Sample:
    a: int
    b: str = "b"
    c: list[int] = field(default_factory=list)
    d: tuple[int, ...] = (1,)


def test_a_slot_maker_makes_what_the_class_makes() -> None:
    make = slot_maker(_Sample, ("a", "d"))
    made = make(3, (4, 5))
    assert made == _Sample(3, d=(4, 5)) and repr(made) == repr(_Sample(3, d=(4, 5)))
    code = slot_maker(DesiredCode, ("device", "name", "code"))(FRONT, "Ann", "482913")
    assert code == DesiredCode(device=FRONT, name="Ann", code="482913")
    assert hash(code) == hash(DesiredCode(device=FRONT, name="Ann", code="482913"))
    assert made.c == [] and made.c is not make(3, ()).c  # a fresh default each time
    with pytest.raises(AttributeError):
        made.a = 4  # type: ignore[misc]  (still frozen)
