"""Stays, written in the config or read from a reservation feed, compiled into door codes.

A stay opens every door of its place from check-in to check-out (widened by the place's
`early_check_in` and `late_check_out`), with one PIN kept under the stay's identity. Written
stays are compiled when the config is loaded; a feed's stays join them once the feed is read
(`reconciler.sources`), through the same function, so both follow one set of rules: a guest
name that two stays would put on one door is told apart, and a place's turnover person (the
cleaner) gets one window from each check-out to the next check-in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reconciler.config.schema import PlaceConfig, StayConfig
from reconciler.core.models import DesiredCode, DeviceKey, Holder, SourceRef
from reconciler.core.settings import parse_duration


@dataclass(frozen=True)
class StayInput:
    """One stay before it is put on doors: who, where, when, and where it was written.

    `key`: its identity in the state store (`stay:beach-house/Bob Smith`, `stay:airbnb/HM...`);
    `suggested_pin`: a PIN to use if every door takes it (a feed's phone digits), else one is
    generated; `origin`: the source it came from, None for a stay written in the config."""

    key: str
    guest: str
    place: str
    starts_at: datetime
    ends_at: datetime
    code: str | None = field(default=None, repr=False)
    suggested_pin: str | None = field(default=None, repr=False)
    pin_per_door: bool = False
    prefer_native_scheduling: bool | None = None
    protected: bool = False
    revoke: bool = False
    source: SourceRef | None = None
    config_path: str | None = None
    origin: str | None = None


@dataclass(frozen=True)
class CompiledStays:
    """The codes stays (and turnovers) put on each door, by device key, and their holders."""

    codes: dict[str, list[DesiredCode]]
    holders: tuple[Holder, ...]


def written_stays(
    stays: Sequence[StayConfig],
    places: Mapping[str, PlaceConfig],
    sources: Sequence[SourceRef | None],
) -> list[StayInput]:
    """The config's `stays:` as inputs (those at an unknown place are a config error). A
    guest with several stays at one place gets the check-in date in each one's identity."""
    repeats = Counter((s.place, s.guest) for s in stays)
    out = []
    for index, stay in enumerate(stays):
        place = places.get(stay.place)
        if place is None:
            continue
        identity = f"{stay.place}/{stay.guest}"
        if repeats[(stay.place, stay.guest)] > 1:
            identity = f"{identity}@{_day(stay.check_in).isoformat()}"
        start, end = stay_window(stay, place.check_in, place.check_out)
        out.append(
            StayInput(
                key=f"stay:{stay.id or identity}",
                guest=stay.guest,
                place=stay.place,
                starts_at=start,
                ends_at=end,
                code=stay.code,
                pin_per_door=stay.pin_per_door,
                prefer_native_scheduling=stay.prefer_native_scheduling,
                protected=stay.protected,
                revoke=stay.revoke,
                source=sources[index],
                config_path=f"stays[{index}]",
            )
        )
    return out


def place_zone(place: PlaceConfig, door_zones: Mapping[str, str | None], default: str) -> str:
    """The zone a place's times without an offset are read in: the place's, else its first
    door's, else the config's; as the planner reads a stay's own code on that door."""
    door_zone = next((door_zones[d] for d in place.doors if door_zones.get(d)), None)
    return place.timezone or door_zone or default


def compile_stays(
    places: Mapping[str, PlaceConfig],
    door_zones: Mapping[str, str | None],
    stays: Sequence[StayInput],
    default_zone: str,
) -> CompiledStays:
    """Each stay's code on each door of its place, and each place's turnover windows.
    `door_zones`: the config's doors and their zones (None: the config's, `default_zone`)."""
    known = set(door_zones)
    codes: dict[str, list[DesiredCode]] = defaultdict(list)
    holders: list[Holder] = []
    names = _code_names(places, stays)
    for stay in stays:
        place = places[stay.place]
        holder = Holder(
            key=stay.key,
            label=stay.guest,
            kind="stay",
            pin_per_door=stay.pin_per_door,
            given_pin=stay.code is not None,
            source=stay.source,
            suggested_pin=stay.suggested_pin,
        )
        holders.append(holder)
        start = stay.starts_at - parse_duration(place.early_check_in)
        end = stay.ends_at + parse_duration(place.late_check_out)
        for door in dict.fromkeys(d for d in place.doors if d in known):
            codes[door].append(
                DesiredCode(
                    device=DeviceKey(door),
                    name=names[stay.key],
                    code=stay.code,
                    starts_at=start,
                    ends_at=end,
                    prefer_native_scheduling=stay.prefer_native_scheduling,
                    protected=stay.protected,
                    revoke=stay.revoke,
                    source=stay.source,
                    holder=holder,
                    timezone=place.timezone,
                    config_path=stay.config_path,
                )
            )
    zones = {key: place_zone(place, door_zones, default_zone) for key, place in places.items()}
    for door, code, holder in _turnovers(places, known, stays, zones):
        codes[door].append(code)
        if holder not in holders:
            holders.append(holder)
    return CompiledStays(dict(codes), tuple(holders))


def _code_names(places: Mapping[str, PlaceConfig], stays: Sequence[StayInput]) -> dict[str, str]:
    """Each stay's code name: its guest, told apart where two stays would put one name on a
    door: by the place (one guest booking two flats that share an entrance), and by the
    check-in date (a guest who comes back: `Bob Smith 12-18`)."""
    per_door: dict[tuple[str, str], list[StayInput]] = defaultdict(list)
    for stay in stays:
        for door in set(places[stay.place].doors):
            per_door[(door, stay.guest)].append(stay)
    names = {stay.key: stay.guest for stay in stays}
    for clashing in per_door.values():
        if len(clashing) < 2:
            continue
        several_places = len({s.place for s in clashing}) > 1
        same_place = Counter(s.place for s in clashing)
        for stay in clashing:
            name = f"{stay.guest} ({stay.place})" if several_places else stay.guest
            if same_place[stay.place] > 1:
                name = f"{name} {stay.starts_at:%m-%d}"
            if len(name) > len(names[stay.key]):
                names[stay.key] = name
    return names


def _turnovers(
    places: Mapping[str, PlaceConfig],
    known: set[str],
    stays: Sequence[StayInput],
    zones: Mapping[str, str],
) -> Iterable[tuple[str, DesiredCode, Holder]]:
    """The turnover person's windows at each place: from each check-out (with the late
    allowance) to the next check-in (with the early one), at most `turnover.max` long."""
    by_place: dict[str, list[StayInput]] = defaultdict(list)
    for stay in stays:
        if not stay.revoke:
            by_place[stay.place].append(stay)
    for key, place in places.items():
        turnover = place.turnover
        if turnover is None or not by_place.get(key):
            continue
        zone = _zone(zones[key])
        ordered = sorted(by_place[key], key=lambda s: _instant(s.starts_at, zone))
        windows = _gaps(place, ordered, zone)
        if not windows:
            continue
        holder = Holder(
            key=f"person:{turnover.name}",
            label=turnover.name,
            kind="person",
            given_pin=turnover.code is not None,
        )
        for door in dict.fromkeys(d for d in place.doors if d in known):
            code = DesiredCode(
                device=DeviceKey(door),
                name=turnover.name,
                code=turnover.code,
                windows=tuple(windows),
                holder=holder,
                config_path=f"places.{key}.turnover",
            )
            yield door, code, holder


def _gaps(
    place: PlaceConfig, stays: Sequence[StayInput], zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    assert place.turnover is not None
    longest = parse_duration(place.turnover.max)
    early, late = parse_duration(place.early_check_in), parse_duration(place.late_check_out)
    windows = []
    for index, stay in enumerate(stays):
        start = _instant(stay.ends_at, zone) + late
        end = start + longest
        if index + 1 < len(stays):
            end = min(end, _instant(stays[index + 1].starts_at, zone) - early)
        if end - start >= timedelta(minutes=15):
            windows.append((start, end))
    return windows


def _instant(moment: datetime, zone: ZoneInfo) -> datetime:
    """A stay's time as an instant: naive times are the wall clock of the place's zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # reported as a config error with its line
        return ZoneInfo("UTC")


def _day(moment: date) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def stay_window(stay: StayConfig, check_in: str, check_out: str) -> tuple[datetime, datetime]:
    """A stay's start and end: a date at the place's time, a date and time as written."""
    return _moment(stay.check_in, check_in), _moment(stay.check_out, check_out)


def _moment(value: date, default_time: str) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time.fromisoformat(default_time))
