"""People, places and stays, compiled into the per-device codes the planner works on.

A config may say "Alice opens every door of the beach house" and "Bob stays from the 1st to
the 4th" instead of repeating a code under each lock. Here each person and each stay becomes
one `DesiredCode` on each of their doors, all carrying the same `Holder`, so the planner, the
safety rails, the journal and the plan JSON keep working per device, and one forgotten door
cannot happen. Their PIN is filled in later, once the locks' rules are known
(`planning.pins`). A stay's dates take the place's check-in and check-out times in the place's
zone. A stay's identity is its `id`, else its guest's name at its place: editing its dates keeps
its codes (and PIN), so the plan updates their windows in place.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconciler.config.coderules import Locator, code_problems, zone_problem
from reconciler.config.schema import CodeConfig, ConfigFile, PersonConfig
from reconciler.config.stays import StayInput, compile_stays, stay_window, written_stays
from reconciler.config.trust import readable_file
from reconciler.core.errors import Problem
from reconciler.core.models import DesiredCode, DeviceKey, Holder, SourceRef


@dataclass(frozen=True, slots=True)
class Door:
    """What people and stays need to know of a device key: its zone and the names of the
    codes written under it (the devices are made one by one, `config.devices`)."""

    timezone: str | None
    codes: Sequence[DesiredCode]

    @property
    def code_names(self) -> frozenset[str]:
        """The names of the codes written under the device (asked only for holders' doors: a
        set per door of a large fleet is megabytes)."""
        return frozenset(code.name for code in self.codes)


@dataclass(frozen=True)
class CompiledHolders:
    """The codes people and stays put on each door (by device key), and who they are."""

    codes: dict[str, list[DesiredCode]]
    holders: tuple[Holder, ...]
    stays: tuple[StayInput, ...] = ()


def holder_problems(
    model: ConfigFile, merged: Locator, compiled: CompiledHolders, doors: Mapping[str, Door]
) -> Iterator[Problem]:
    """Every problem of `places:`, `people:`, `stays:` and `sources:`, each at its line:
    unknown places and doors, names given twice, windows out of order, a stay's dates, names
    that would be one code on a door (`compiled`: the codes they put on each door)."""
    for key, place in model.places.items():
        for index, door in enumerate(place.doors):
            if door not in doors:
                yield merged.problem(("places", key, "doors", index), _unknown_door(door))
        if place.timezone:
            yield from zone_problem(place.timezone, ("places", key, "timezone"), merged)
    yield from _people_problems(model, merged, doors)
    yield from _stay_problems(model, merged)
    yield from _source_problems(model, merged)
    yield from _name_clashes(doors, merged, compiled)


def _unknown_door(door: str) -> str:
    return f"unknown door '{door}': a door is a device key under devices:"


def _people_problems(
    model: ConfigFile, merged: Locator, doors: Mapping[str, Door]
) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    zone = model.settings.timezone
    for index, person in enumerate(model.people):
        at = ("people", index)
        if person.name in seen:
            yield merged.problem(
                (*at, "name"),
                f"person '{person.name}' is listed twice (people[{seen[person.name]}])",
            )
        seen.setdefault(person.name, index)
        for pos, place in enumerate(person.places):
            if place not in model.places:
                yield merged.problem((*at, "places", pos), f"unknown place '{place}'")
        for pos, door in enumerate(person.doors):
            if door not in doors:
                yield merged.problem((*at, "doors", pos), _unknown_door(door))
        if not person.places and not person.doors:
            yield merged.problem(at, f"person '{person.name}' has no places: and no doors:")
        yield from code_problems(_as_code(person), at, merged, zone)


def _stay_problems(model: ConfigFile, merged: Locator) -> Iterator[Problem]:
    identities: dict[str, int] = {}
    for index, stay in enumerate(model.stays):
        at = ("stays", index)
        place = model.places.get(stay.place)
        if place is None:
            yield merged.problem((*at, "place"), f"unknown place '{stay.place}'")
            continue
        start, end = stay_window(stay, place.check_in, place.check_out)
        if _comparable(end) <= _comparable(start):
            yield merged.problem((*at, "check_out"), "check_out must be after check_in")
        if stay.id is not None:
            if stay.id in identities:
                yield merged.problem(
                    (*at, "id"), f"stay id '{stay.id}' is used twice (stays[{identities[stay.id]}])"
                )
            identities.setdefault(stay.id, index)


def _source_problems(model: ConfigFile, merged: Locator) -> Iterator[Problem]:
    """A source's place must exist, its name be unique, and a file it reads stay in the
    config's folder or the working directory (as policy files do: a pull request must not
    make accesscodes read another file of the machine into a plan comment)."""
    seen: dict[str, int] = {}
    base = Path(merged.at(()).file).resolve().parent
    for index, source in enumerate(model.sources):
        at = ("sources", index)
        if source.name in seen:
            yield merged.problem(
                (*at, "name"),
                f"source '{source.name}' is listed twice (sources[{seen[source.name]}])",
            )
        seen.setdefault(source.name, index)
        if source.place not in model.places:
            yield merged.problem((*at, "place"), f"unknown place '{source.place}'")
        location = source.ical
        if "://" in location and not location.startswith(("https://", "http://")):
            yield merged.problem((*at, "ical"), "a feed is an https:// or http:// URL, or a file")
        elif "://" not in location and not readable_file(base, location):
            yield merged.problem(
                (*at, "ical"),
                "a feed file must be inside the config's folder or the working directory",
            )


def _comparable(moment: datetime) -> datetime:
    """Naive wall time, for comparing a stay's ends written with and without offsets."""
    return moment.replace(tzinfo=None)


def _name_clashes(
    doors: Mapping[str, Door], merged: Locator, compiled: CompiledHolders
) -> Iterator[Problem]:
    """A person's or guest's name written as a code of one of their doors, or two people
    with one name on a door: a door knows a code by its name, so they would be one code."""
    for door, codes in compiled.codes.items():
        known = doors.get(door)
        own = known.code_names if known else frozenset()
        names = Counter(c.name for c in codes)
        for code in codes:
            if code.config_path is None or "[" not in code.config_path:
                continue  # a place's turnover: its name is checked with the place's codes
            path = _path_of(code.config_path)
            if code.name in own:
                yield merged.problem(
                    (*path, "name" if path[0] == "people" else "guest"),
                    f"'{code.name}' is also written as a code under devices.{door}: "
                    "write it in one place",
                )
            elif names[code.name] > 1 and code.holder and code.holder.kind == "person":
                yield merged.problem(
                    (*path, "name"), f"two codes named '{code.name}' on door '{door}'"
                )
                names[code.name] = 1  # once per door


def _path_of(config_path: str) -> tuple[str, int]:
    section, _, rest = config_path.partition("[")
    return section, int(rest.rstrip("]"))


def compile_holders(
    model: ConfigFile, merged: Locator, doors: Mapping[str, Door]
) -> CompiledHolders:
    """Each person's and stay's codes, per door in config order, with their holders."""
    codes: dict[str, list[DesiredCode]] = defaultdict(list)
    holders: list[Holder] = []
    for index, person in enumerate(model.people):
        holder = Holder(
            key=f"person:{person.name}",
            label=person.name,
            kind="person",
            pin_per_door=person.pin_per_door,
            given_pin=person.code is not None,
            source=_source(merged, ("people", index)),
        )
        holders.append(holder)
        for door in _person_doors(model, person, doors):
            codes[door].append(_person_code(person, door, holder, f"people[{index}]"))
    places = model.places
    written = written_stays(
        model.stays, places, [_source(merged, ("stays", i)) for i in range(len(model.stays))]
    )
    if not model.sources:  # else with the feeds' stays, once read (`reconciler.sources`)
        zones = {key: door.timezone for key, door in doors.items()}
        stays = compile_stays(places, zones, written, model.settings.timezone)
        for door, door_codes in stays.codes.items():
            codes[door].extend(door_codes)
        holders.extend(h for h in stays.holders if h not in holders)
    return CompiledHolders(dict(codes), tuple(holders), tuple(written))


def _person_doors(model: ConfigFile, person: PersonConfig, doors: Mapping[str, Door]) -> list[str]:
    named = [d for p in person.places if p in model.places for d in model.places[p].doors]
    return [d for d in dict.fromkeys([*named, *person.doors]) if d in doors]


def _person_code(person: PersonConfig, door: str, holder: Holder, path: str) -> DesiredCode:
    schedule = person.schedule.compiled() if person.schedule is not None else None
    return DesiredCode(
        device=DeviceKey(door),
        name=person.name,
        code=person.code,
        starts_at=person.starts_at,
        ends_at=person.ends_at,
        schedule=schedule,
        prefer_native_scheduling=person.prefer_native_scheduling,
        protected=person.protected,
        revoke=person.revoke,
        source=holder.source,
        holder=holder,
        config_path=path,
    )


def _as_code(person: PersonConfig) -> CodeConfig:
    """A person's per-code fields, for the rules every code follows."""
    return CodeConfig.model_construct(
        name=person.name,
        code=person.code,
        starts_at=person.starts_at,
        ends_at=person.ends_at,
        schedule=person.schedule,
        offline=False,
        one_time_use=False,
    )


def _source(merged: Locator, path: tuple[str, int]) -> SourceRef:
    where = merged.at(path)
    return SourceRef(where.file, where.line, where.column)
