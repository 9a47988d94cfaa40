"""`accesscodes timeline` as people read it: aligned columns when piped, tables on a terminal.

Rendering lives here, in cli/, and the timeline itself in planning/timeline.py. The plain form
(a pipe, a file, CI, `NO_COLOR`) is the one tests and scripts read and never changes shape; on
a terminal (`terminal.use_colour`) the same cells go into rich tables, coloured by state:
green ongoing, cyan deferred, bold red blocked. No entry carries a PIN, so neither form can
print one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from reconciler.core.plan import Action, Drift
from reconciler.planning.timeline import (
    DeviceTimeline,
    Entry,
    NextDue,
    State,
    Timeline,
    timeline_to_data,
)
from reconciler.views.labels import local, window

if TYPE_CHECKING:
    from rich.console import RenderableType

_ACTION_STYLES = {"create": "green", "update": "yellow", "delete": "red"}


def render_timeline_json(timeline: Timeline) -> str:
    """`--format json`: `timeline_to_data`, indented."""
    return json.dumps(timeline_to_data(timeline), indent=2) + "\n"


def render_timeline_picture(
    timeline: Timeline,
    form: str,
    *,
    places: Mapping[str, Sequence[str]],
    drift: Sequence[Drift],
    pins: Sequence[str],
) -> str:
    """`--format html|svg|mermaid`: the picture (`reconciler.views`), grouped by place, the
    plan's drift on its bars, every name masked of `pins`."""
    from reconciler.views.mermaid import render_mermaid
    from reconciler.views.page import timeline_page
    from reconciler.views.picture import make_picture
    from reconciler.views.svg import render_svg

    if form == "mermaid":
        return render_mermaid(timeline, drift=drift, pins=pins)
    picture = make_picture(timeline, places=places, drift=drift, pins=pins)
    svg = render_svg(picture)
    if form == "svg":
        return svg + "\n"
    return timeline_page(
        timeline, picture, svg, drift=drift, pins=pins, generated=datetime.now(UTC)
    )


def render_timeline_text(timeline: Timeline) -> str:
    """`--format text`: one aligned block per device in local time (UTC beside the times that
    say when to act), then when the next change falls due, per device and overall."""
    lines = [
        f"accesscodes timeline {_utc(timeline.start)} → {_utc(timeline.end)} "
        f"(now {_utc(timeline.now)})",
    ]
    for device in timeline.devices:
        zone = ZoneInfo(device.timezone)
        lines += ["", f"{device.device} ({device.device_id}, {device.timezone})"]
        rows = [("code", "programmed from", "active", "state")]
        rows += [_row(e, zone, timeline.now) for e in device.entries]
        if device.entries:
            widths = [max(len(r[i]) for r in rows) for i in range(3)]
            for row in rows:
                cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:3])]
                lines.append(("  " + "  ".join([*cells, row[3]])).rstrip())
        else:
            lines.append("  no codes in this period")
        lines.append(f"  Next due: {_describe_next(device.next_due, with_device=False)}")
    lines += ["", f"Next due: {_describe_next(timeline.next_due, with_device=True)}"]
    return "\n".join(lines) + "\n"


def _row(entry: Entry, zone: ZoneInfo, now: datetime) -> tuple[str, str, str, str]:
    if entry.on_lock:
        programmed = "already"
    elif entry.programmed_from is None:
        programmed = "-"
    else:
        programmed = _both(entry.programmed_from, zone)
    return (entry.name, programmed, window(entry, zone), _state(entry, zone, now))


def _state(entry: Entry, zone: ZoneInfo, now: datetime) -> str:
    if entry.state is State.BLOCKED:
        return "blocked: " + "; ".join(entry.reasons)
    if entry.state is State.ON_LOCK:
        return "on lock"
    if entry.state is State.ONGOING:
        return "ongoing"
    assert entry.due_at is not None
    when = "now" if entry.due_at <= now else local(entry.due_at, zone)
    if entry.change == str(Action.CREATE):
        return f"due {when}"
    return f"{entry.change} due {when} ({'; '.join(entry.reasons)})"


def _describe_next(next_due: NextDue | None, *, with_device: bool) -> str:
    if next_due is None:
        return "nothing deferred"
    zone = ZoneInfo(next_due.timezone)
    where = f"{next_due.device}: " if with_device else ""
    when = _both(next_due.at, zone)
    if with_device:  # devices may differ in zone: name it
        when = f"{local(next_due.at, zone)} {next_due.timezone} ({_utc(next_due.at)})"
    what = f"{where}{next_due.action} {next_due.name}"
    if next_due.occurrence is not None:
        what += f" (occurrence {local(next_due.occurrence, zone)})"
    return f"{when} {what}"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def _both(moment: datetime, zone: ZoneInfo) -> str:
    return f"{local(moment, zone)} ({_utc(moment)})"


def timeline_renderables(timeline: Timeline) -> list[RenderableType]:
    """On a terminal: the heading, a table per device, then when the next change falls due;
    the cells are those of `render_timeline_text`."""
    from rich.text import Text

    out: list[RenderableType] = [
        Text(
            f"accesscodes timeline {_utc(timeline.start)} → {_utc(timeline.end)} "
            f"(now {_utc(timeline.now)})",
            style="bold",
        )
    ]
    for device in timeline.devices:
        out += [Text(""), *_device_renderables(device, timeline.now)]
    out += [Text(""), _next_line("Next due: ", timeline.next_due, with_device=True)]
    return out


def _device_renderables(device: DeviceTimeline, now: datetime) -> list[RenderableType]:
    """One device's heading, its table (or a note that it has no codes) and its next due."""
    from rich import box
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    zone = ZoneInfo(device.timezone)
    heading = Text(f"{device.device} ({device.device_id}, {device.timezone})", style="bold")
    if device.entries:
        table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, show_edge=False)
        # Wide enough that a narrow terminal wraps a time at its space, never inside it.
        table.add_column("code")
        table.add_column("programmed from", min_width=19)
        table.add_column("active", min_width=18)
        table.add_column("state", min_width=16)
        for entry in device.entries:
            name, programmed, active, state = _row(entry, zone, now)
            table.add_row(
                name,
                Text(programmed, style="dim" if entry.on_lock else ""),
                active,
                Text(state, style=_state_style(entry, now)),
            )
        body: RenderableType = Padding(table, (0, 0, 0, 2), expand=False)
    else:
        body = Text("  no codes in this period", style="dim")
    return [heading, body, _next_line("  Next due: ", device.next_due, with_device=False)]


def _state_style(entry: Entry, now: datetime) -> str:
    """Blocked bold red, ongoing green, deferred cyan, due now in its action's colour."""
    if entry.state is State.BLOCKED:
        return "bold red"
    if entry.state is State.ONGOING:
        return "green"
    if entry.state is State.ON_LOCK or entry.due_at is None:
        return ""
    if entry.due_at > now:
        return "cyan"
    return _ACTION_STYLES.get(entry.change or "", "")


def _next_line(label: str, next_due: NextDue | None, *, with_device: bool) -> RenderableType:
    """`Next due: ...`, the time to act in cyan."""
    from rich.text import Text

    style = "dim" if next_due is None else "cyan"
    return Text.assemble(
        (label, "bold"), (_describe_next(next_due, with_device=with_device), style)
    )
