"""The timeline as a picture, before any markup: a row per door grouped by place, a bar per code
window on one time axis, in lanes so that overlapping codes never hide each other.

Why a model apart from the SVG: the geometry (where a bar starts, how wide, which lane) is the
part that must be right, and a browser test checks it against each code's window; `svg.py`
only writes it out. Everything comes from `planning.timeline.Timeline`, so the picture cannot
disagree with the text timeline or with `apply`. A bar spans the time the code opens the door
inside the period (from its window's start, never before it goes on the lock, to its window's
end or its pending removal); a thin line before it is the time it already sits on the lock,
waiting for its window. Marks: a deferred programming (the create's due time), an update and a
removal (a pending delete's due time). Drift is drawn on the bars of the code it concerns; drift
on a code with no bar (an unmanaged code) is noted on the door's row.

Times on the axis are in one zone (by default the doors' most common one); a door in another
zone gets its own local midnights drawn on its row, and every hover text is in the door's zone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from reconciler.core.errors import mask_secrets
from reconciler.core.plan import Drift
from reconciler.planning.timeline import DeviceTimeline, Entry, State, Timeline
from reconciler.views import labels
from reconciler.views.axis import Scale, Tick, axis, local_points

LABEL_WIDTH = 240  # the door names' column
PLOT_MIN, PLOT_MAX = 900.0, 2400.0  # px: the plot's width, one px an hour in between
RIGHT_PAD = 20
AXIS_HEIGHT = 48
GROUP_HEAD = 26
LANE_HEIGHT, LANE_GAP, ROW_PAD = 14, 4, 8
LEGEND_HEIGHT = 40
MIN_BAR = 3.0  # px: a bar of a few minutes is still something to hover


@dataclass(frozen=True)
class Mark:
    """A moment on a bar: `programming` (goes on the lock), `update`, `removal`."""

    kind: str
    at: datetime
    x: float
    title: str


@dataclass(frozen=True)
class Bar:
    """One code window on a door's row. `start`/`end`: the shown span (clipped to the period);
    `opens`/`closes`: the window as the code has it (None: open-ended)."""

    name: str
    kind: str
    state: str
    start: datetime
    end: datetime
    opens: datetime | None
    closes: datetime | None
    x: float
    width: float
    y: float
    lane: int
    title: str
    wait_x: float | None = None  # on the lock from here, before the window opens
    marks: tuple[Mark, ...] = ()
    drift: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    """One door: its bars, lanes, and what must be said beside it."""

    device: str
    device_id: str
    timezone: str
    y: float
    height: float
    bars: tuple[Bar, ...]
    notes: tuple[str, ...] = ()  # drift that concerns no bar (an unmanaged code)
    also_in: tuple[str, ...] = ()  # the other places this door belongs to
    midnights: tuple[float, ...] = ()  # its own local midnights, when its zone is not the axis'


@dataclass(frozen=True)
class Group:
    """A place and its doors (`name` None: doors in no place)."""

    name: str | None
    y: float
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Picture:
    """The laid-out timeline: everything `svg.render_svg` needs, in pixels and instants."""

    start: datetime
    end: datetime
    now: datetime
    zone: str
    width: float
    height: float
    plot_x: float
    plot_width: float
    plot_top: float
    plot_bottom: float
    groups: tuple[Group, ...]
    ticks: tuple[Tick, ...]
    grid: tuple[float, ...]  # the axis zone's midnights
    now_x: float | None


def make_picture(
    timeline: Timeline,
    *,
    places: Mapping[str, Sequence[str]] | None = None,
    drift: Sequence[Drift] = (),
    zone: str | None = None,
    pins: Iterable[str | None] = (),
) -> Picture:
    """Lay out `timeline`: doors grouped by `places` (place -> door keys, in the config's
    order; a door in several places is drawn once, under the first, and says where else it
    belongs), `drift` on its bars, the axis in `zone` (default: the doors' most common)."""
    axis_zone = zone or _common_zone(timeline)
    hours = (timeline.end - timeline.start).total_seconds() / 3600
    plot_width = min(PLOT_MAX, max(PLOT_MIN, hours))
    scale = Scale(timeline.start, timeline.end, LABEL_WIDTH, plot_width)
    secret = [p for p in pins if p]
    concerns: dict[tuple[str, str], list[Drift]] = {}
    for item in drift:
        concerns.setdefault((item.device, item.name), []).append(item)
    groups, y = [], float(AXIS_HEIGHT)
    for name, devices, also in _grouped(timeline, places or {}):
        group_y = y
        y += GROUP_HEAD if name is not None else 0
        rows = []
        for device in devices:
            row = _row(device, y, scale, concerns, secret, timeline.now, axis_zone)
            rows.append(replace(row, also_in=also.get(device.device, ())))
            y += row.height
        groups.append(Group(name, group_y, tuple(rows)))
    ticks, grid = axis(scale, ZoneInfo(axis_zone))
    return Picture(
        start=timeline.start,
        end=timeline.end,
        now=timeline.now,
        zone=axis_zone,
        width=LABEL_WIDTH + plot_width + RIGHT_PAD,
        height=y + LEGEND_HEIGHT,
        plot_x=LABEL_WIDTH,
        plot_width=plot_width,
        plot_top=AXIS_HEIGHT,
        plot_bottom=y,
        groups=tuple(groups),
        ticks=ticks,
        grid=grid,
        now_x=scale.x(timeline.now) if scale.inside(timeline.now) else None,
    )


def _common_zone(timeline: Timeline) -> str:
    zones = Counter(d.timezone for d in timeline.devices)
    return zones.most_common(1)[0][0] if zones else "UTC"


def _grouped(
    timeline: Timeline, places: Mapping[str, Sequence[str]]
) -> list[tuple[str | None, list[DeviceTimeline], dict[str, tuple[str, ...]]]]:
    """(place, its doors not drawn yet, door -> its other places) in the config's order, then
    the doors of no place under None."""
    by_key = {d.device: d for d in timeline.devices}
    member: dict[str, list[str]] = {}
    for place, doors in places.items():
        for door in doors:
            member.setdefault(door, []).append(place)
    drawn: set[str] = set()
    out: list[tuple[str | None, list[DeviceTimeline], dict[str, tuple[str, ...]]]] = []
    for place, doors in places.items():
        mine = [by_key[d] for d in doors if d in by_key and d not in drawn]
        drawn.update(d.device for d in mine)
        if mine:
            also = {d.device: tuple(p for p in member[d.device] if p != place) for d in mine}
            out.append((place, mine, also))
    rest = [d for d in timeline.devices if d.device not in drawn]
    if rest:
        out.append(("other doors" if out else None, rest, {}))
    return out


def _row(
    device: DeviceTimeline,
    y: float,
    scale: Scale,
    concerns: Mapping[tuple[str, str], list[Drift]],
    pins: Sequence[str],
    now: datetime,
    axis_zone: str,
) -> Row:
    """One door's row at `y`: its bars in lanes, its drift, its own midnights."""
    zone = ZoneInfo(device.timezone)
    spans = [(entry, *_span(entry, scale)) for entry in device.entries]
    lanes = _lanes([(e.name, min(s, _wait_from(e, scale) or s), t) for e, s, t in spans])
    count = max(lanes.values(), default=0) + 1
    height = 2 * ROW_PAD + count * LANE_HEIGHT + (count - 1) * LANE_GAP
    bars = []
    named = set()
    for entry, start, end in spans:
        lane = lanes[entry.name]
        found = concerns.get((device.device, entry.name), [])
        named.add(entry.name)
        lane_y = y + ROW_PAD + lane * (LANE_HEIGHT + LANE_GAP)
        bars.append(_bar(entry, device, start, end, lane, lane_y, scale, zone, found, pins, now))
    notes = tuple(
        mask_secrets(f"{d.kind}: {d.name} ({d.detail})", pins)
        for (key, name), items in concerns.items()
        if key == device.device and name not in named
        for d in items
    )
    midnights: tuple[float, ...] = ()
    if device.timezone != axis_zone:
        midnights = tuple(scale.x(t) for t in local_points(scale, zone, 24))
    return Row(
        device.device,
        device.device_id,
        device.timezone,
        y,
        height,
        tuple(bars),
        notes,
        midnights=midnights,
    )


def _span(entry: Entry, scale: Scale) -> tuple[datetime, datetime]:
    """The part of the period in which the code opens the door."""
    bounds = [t for t in (entry.starts_at, entry.programmed_from) if t is not None]
    opens = max(bounds, default=None)
    closes = entry.ends_at
    if entry.change == "delete" and entry.due_at is not None:
        closes = entry.due_at if closes is None else min(closes, entry.due_at)
    start = max(opens or scale.start, scale.start)
    end = min(closes or scale.end, scale.end)
    return min(start, scale.end), max(end, start)


def _wait_from(entry: Entry, scale: Scale) -> datetime | None:
    """From when (within the period) the code sits on the lock before its window opens: the
    period's start for a code already on it, its programming for one still to go on."""
    wait_from = scale.start if entry.on_lock else entry.programmed_from
    if wait_from is None or entry.starts_at is None or wait_from >= entry.starts_at:
        return None
    return max(wait_from, scale.start) if wait_from < scale.end else None


def _lanes(spans: Sequence[tuple[str, datetime, datetime]]) -> dict[str, int]:
    """A lane per code name (a schedule's occurrences share one), the first lane where none
    of its spans overlaps another code's: each code keeps one line across the row."""
    by_name: dict[str, list[tuple[datetime, datetime]]] = {}
    for name, start, end in spans:
        by_name.setdefault(name, []).append((start, max(end, start + timedelta(seconds=1))))
    taken: list[list[tuple[datetime, datetime]]] = []
    lanes: dict[str, int] = {}
    for name, mine in by_name.items():
        for index, lane in enumerate(taken):
            if not any(a < d and c < b for a, b in mine for c, d in lane):
                lane.extend(mine)
                lanes[name] = index
                break
        else:
            taken.append(list(mine))
            lanes[name] = len(taken) - 1
    return lanes


def _bar(
    entry: Entry,
    device: DeviceTimeline,
    start: datetime,
    end: datetime,
    lane: int,
    lane_y: float,
    scale: Scale,
    zone: ZoneInfo,
    drift: Sequence[Drift],
    pins: Sequence[str],
    now: datetime,
) -> Bar:
    """One bar, its waiting line, marks, drift and hover text."""
    x = scale.x(start)
    wait_from = _wait_from(entry, scale)
    wait_x = scale.x(wait_from) if wait_from is not None else None
    drift_lines = tuple(mask_secrets(f"{d.kind} ({d.detail})", pins) for d in drift)
    name = mask_secrets(entry.name, pins)
    return Bar(
        name=name,
        kind=str(entry.kind),
        state=str(entry.state),
        start=start,
        end=end,
        opens=entry.starts_at,
        closes=entry.ends_at,
        x=x,
        width=max(MIN_BAR, scale.x(end) - x),
        y=lane_y,
        lane=lane,
        title=labels.bar_title(entry, device.device, name, zone, now, drift_lines, pins),
        wait_x=wait_x,
        marks=_marks(entry, scale, zone, now),
        drift=drift_lines,
    )


def _marks(entry: Entry, scale: Scale, zone: ZoneInfo, now: datetime) -> tuple[Mark, ...]:
    """The deferred moments of the code, where they fall inside the period (a write due now
    is the plan's business, not the picture's: it would pile up on the left edge)."""
    marks = []
    due = entry.due_at
    if entry.state is State.DUE and due is not None and due > now and scale.inside(due):
        kind = {"create": "programming", "delete": "removal"}.get(entry.change or "", "update")
        if kind != "programming" or not entry.on_lock:
            marks.append(Mark(kind, due, scale.x(due), labels.mark_title(kind, due, zone, now)))
    return tuple(marks)
