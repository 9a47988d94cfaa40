"""The `devices:` section, validated and made into desired codes one device at a time.

Validated as one model, a fleet's config held its YAML data, a pydantic model of every code
and the desired codes at once: 139 MB traced at the peak for 10,000 locks of 10 codes, whose
desired codes are 31 MB. Here only one device's model exists beside the data and the codes
made so far. A device that does not validate stops the pass; the caller then validates the
whole config, as before, for messages that name every problem (`load._refusal`).

`device_as_read` goes further: called by the YAML reader with each device as soon as its
entry is read (`yamlevents.DeviceHook`), it makes the device then, so that the fleet's data and
its positions are never whole either. A device it cannot judge alone (one that does not
validate, or has a problem, or whose window depends on `settings.timezone`, not read yet) is
left as data for `own_devices`, which names its problems with the whole config's positions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from reconciler.config.coderules import Locator, code_problems, zone_problem
from reconciler.config.schema import CodeConfig, DeviceConfig
from reconciler.config.yamlevents import DevicePlaces, Position
from reconciler.config.yamlsource import PathKey
from reconciler.core.errors import Problem
from reconciler.core.models import DesiredCode, DeviceKey, SourceRef
from reconciler.core.written import PlainCode, WrittenCodes


class NotOneByOne(Exception):
    """`devices:` is not a mapping of names to devices: only the whole config's validation
    says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class OwnDevice:
    """A device as written under `devices:`: its own codes, before people's and stays'."""

    key: str
    device_id: str
    timezone: str | None
    codes: WrittenCodes
    source: SourceRef


def own_devices(
    raw: Any, merged: Locator, settings_zone: str, problems: list[Problem]
) -> list[OwnDevice]:
    """Each device of `raw` (the merged `devices:` data), with the problems of its fields
    added to `problems`; pydantic's `ValidationError` leaves at the first device refused.
    Each device's data is let go (`raw[key] = None`) once the device is made: the fleet's
    data and its desired codes are not both whole in memory."""
    if not isinstance(raw, dict):
        raise NotOneByOne
    owners: dict[str, str] = {}  # device_id -> the first key that names it
    found = []
    for key, data in raw.items():
        if not isinstance(key, str):
            raise NotOneByOne
        if isinstance(data, OwnDevice):  # made as it was read (`device_as_read`)
            problems.extend(_owner_problem(key, data.device_id, merged, owners))
            found.append(data)
            continue
        device = DeviceConfig.model_validate(data)
        problems.extend(_device_problems(key, device, merged, settings_zone, owners))
        found.append(_made(key, device, merged, merged.at(("devices", key), key=True)))
        raw[key] = None
    return found


def _made(key: str, device: DeviceConfig, merged: Locator, where: Position) -> OwnDevice:
    """The device of a validated entry, its key written at `where`."""
    return OwnDevice(
        key=key,
        device_id=device.device_id,
        timezone=device.timezone,
        codes=WrittenCodes(DeviceKey(key), where.file, _codes(key, device, merged, where.file)),
        source=SourceRef(where.file, where.line, where.column),
    )


def device_as_read(key: str, data: Any, places: DevicePlaces) -> OwnDevice | None:
    """The device of one `devices:` entry, made as it is read; None when it cannot be judged
    alone (see the module's docstring): its data is then kept for `own_devices`."""
    try:
        device = DeviceConfig.model_validate(data)
    except ValidationError:
        return None
    if device.timezone is None and any(_window_needs_zone(code) for code in device.codes):
        return None
    alone = _Alone(places)
    try:
        list(_device_problems(key, device, alone, device.timezone or "UTC", None))  # raises
        return _made(key, device, alone, places.key)
    except _NotAlone:
        return None


class _NotAlone(Exception):
    """The entry has a problem, or a path its own positions do not place."""


class _Alone:
    """The positions one device's entry placed, as a `Locator` (`device_as_read`): any
    problem leaves the device to the whole config's pass, which places it."""

    def __init__(self, places: DevicePlaces) -> None:
        self.places = places

    def at(self, path: PathKey, *, key: bool = False) -> Position:
        found = (self.places.keys if key else self.places.values).get(path)
        if found is None:
            raise _NotAlone(path)
        return found

    def problem(self, path: PathKey, message: str, *, key: bool = False) -> Problem:
        raise _NotAlone(path)


def _window_needs_zone(code: Any) -> bool:
    """Whether a code's window is in order depends on the zone its naive time is read in:
    one of starts_at and ends_at has an offset and the other not."""
    starts, ends = code.starts_at, code.ends_at
    if starts is None or ends is None:
        return False
    return (starts.tzinfo is None) != (ends.tzinfo is None)


def _owner_problem(
    key: str, device_id: str, merged: Locator, owners: dict[str, str]
) -> Iterator[Problem]:
    """A device_id that an earlier device already names."""
    if device_id in owners:
        yield merged.problem(
            ("devices", key, "device_id"),
            f"device_id is already used by device '{owners[device_id]}'",
        )
    owners.setdefault(device_id, key)


def _device_problems(
    key: str,
    device: DeviceConfig,
    merged: Locator,
    settings_zone: str,
    owners: dict[str, str] | None,
) -> Iterator[Problem]:
    """A device_id used twice (unless `owners` is None), a bad zone, code names given twice,
    each code's own rules."""
    base: PathKey = ("devices", key)
    if owners is not None:
        yield from _owner_problem(key, device.device_id, merged, owners)
    if device.timezone:
        yield from zone_problem(device.timezone, (*base, "timezone"), merged)
    first_index: dict[str, int] = {}
    zone = device.timezone or settings_zone
    for index, code in enumerate(device.codes):
        at: PathKey = (*base, "codes", index)
        if code.name in first_index:
            first = merged.at((*base, "codes", first_index[code.name], "name"))
            yield merged.problem(
                (*at, "name"),
                f"code name '{code.name}' is used twice on device '{key}' "
                f"(first at line {first.line})",
            )
        else:
            first_index[code.name] = index
        yield from code_problems(code, at, merged, zone)


PLAIN_FIELDS = frozenset({"name", "code", "starts_at", "ends_at"})
"""What a `PlainCode` keeps of a code's fields; `_is_plain` knows each of the others."""


def _is_plain(code: CodeConfig) -> bool:
    """Whether every field but `PLAIN_FIELDS` has its default (no schedule, no flag)."""
    return (
        code.schedule is None
        and not code.offline
        and not code.one_time_use
        and code.prefer_native_scheduling is None
        and not code.protected
        and not code.revoke
    )


def _codes(
    key: str, device: DeviceConfig, merged: Locator, file: str
) -> Iterator[DesiredCode | PlainCode]:
    """The device's codes; those with a name, a PIN and a window alone (most of a fleet's),
    and written in `file`, as the `PlainCode` a `WrittenCodes` keeps."""
    base: PathKey = ("devices", key)
    for index, code in enumerate(device.codes):
        where = merged.at((*base, "codes", index))
        if where.file == file and _is_plain(code):
            yield PlainCode(
                code.name, code.code, code.starts_at, code.ends_at, where.line, where.column
            )
            continue
        schedule = code.schedule.compiled() if code.schedule is not None else None
        yield DesiredCode(
            device=DeviceKey(key),
            name=code.name,
            code=code.code,
            starts_at=code.starts_at,
            ends_at=code.ends_at,
            schedule=schedule,
            offline=code.offline,
            one_time_use=code.one_time_use,
            prefer_native_scheduling=code.prefer_native_scheduling,
            protected=code.protected,
            revoke=code.revoke,
            source=SourceRef(where.file, where.line, where.column),
        )
