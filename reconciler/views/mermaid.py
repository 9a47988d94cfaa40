"""The timeline as a mermaid gantt chart, which GitHub renders in markdown (the Action's job
summary, a pull request comment, an issue).

A section per door, a task per code window, all times in one zone (the doors' most common:
mermaid has no zones, so bars line up as instants do; a door in another zone says so in its
section's name). Kinds become mermaid's few task tags: `done` (grey) ongoing, `active` a stay,
no tag recurring, offline and one-time, `crit` (red) any code with drift or blocked; `now` is a
milestone. Names are reduced to letters, digits and a little punctuation (a colon, a hash, a
semicolon or a backtick would end a task or the code fence) and masked of the PINs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from reconciler.core.errors import mask_secrets
from reconciler.core.plan import Drift
from reconciler.planning.timeline import Entry, State, Timeline

MAX_TASKS = 150  # past this a chart is no longer read; the rest are counted
_UNSAFE = re.compile(r"[^\w ()\-.,'&/+@*]+")
_KEYWORDS = {
    "title",
    "section",
    "dateformat",
    "axisformat",
    "tickinterval",
    "todaymarker",
    "excludes",
    "includes",
    "weekday",
    "weekend",
    "click",
    "gantt",
    "acctitle",
    "accdescr",
    "inclusiveenddates",
    "topaxis",
    "displaymode",
}
_TAGS = {"ongoing": "done, ", "stay": "active, "}
FORMAT = "%Y-%m-%d %H:%M"


def task_name(name: str, pins: Iterable[str | None] = ()) -> str:
    """A code's name as a mermaid task can hold it."""
    text = " ".join(_UNSAFE.sub(" ", mask_secrets(name, pins)).split()) or "code"
    if text.split()[0].lower() in _KEYWORDS:
        text = "code " + text
    return text[:60]


def render_mermaid(
    timeline: Timeline,
    *,
    drift: Sequence[Drift] = (),
    pins: Sequence[str] = (),
    zone: str | None = None,
) -> str:
    """A fenced ```mermaid block: the gantt chart of the timeline's doors."""
    zones = Counter(d.timezone for d in timeline.devices)
    shown_zone = zone or (zones.most_common(1)[0][0] if zones else "UTC")
    tz = ZoneInfo(shown_zone)
    days = (timeline.end - timeline.start).total_seconds() / 86400
    lines = [
        "```mermaid",
        "gantt",
        f"    title Codes by door, {_at(timeline.start, tz)} to {_at(timeline.end, tz)} "
        f"({task_name(shown_zone)})",
        "    dateFormat YYYY-MM-DD HH:mm",
        f"    axisFormat {'%d %b %H:%M' if days <= 3 else '%d %b'}",
        "    todayMarker off",
    ]
    drifting = {(d.device, d.name) for d in drift}
    count, left = 0, 0
    for index, device in enumerate(timeline.devices):
        note = f" ({device.timezone})" if device.timezone != shown_zone else ""
        lines.append(f"    section {task_name(device.device + note)}")
        if index == 0 and timeline.start <= timeline.now <= timeline.end:
            lines.append(f"    now :milestone, {_at(timeline.now, tz)}, 0m")
        for entry in device.entries:
            if count >= MAX_TASKS:
                left += 1
                continue
            count += 1
            crit = entry.state is State.BLOCKED or (device.device, entry.name) in drifting
            lines.append(_task(entry, timeline, tz, pins, crit=crit))
    if left:
        lines.append(f"    %% {left} more code windows not shown")
    lines.append("```")
    return "\n".join(lines) + "\n"


def _task(
    entry: Entry, timeline: Timeline, tz: ZoneInfo, pins: Sequence[str], *, crit: bool
) -> str:
    bounds = [t for t in (entry.starts_at, entry.programmed_from) if t is not None]
    start = max([timeline.start, *bounds])
    end = min(entry.ends_at or timeline.end, timeline.end)
    if entry.change == "delete" and entry.due_at is not None:
        end = min(end, entry.due_at)
    end = max(end, start + timedelta(minutes=1))
    tag = "crit, " if crit else _TAGS.get(str(entry.kind), "")
    return f"    {task_name(entry.name, pins)} :{tag}{_at(start, tz)}, {_at(end, tz)}"


def _at(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime(FORMAT)
