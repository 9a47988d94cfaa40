"""The words of the pictures: kind names, hover texts, tick labels, times in a door's zone.

Kept in one place so the SVG, the HTML pages and the mermaid chart name things alike. Every
time a person reads is local to the door it concerns (its zone named); UTC appears only in the
data attributes scripts and tests read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from reconciler.core.errors import mask_secrets
from reconciler.planning.timeline import Entry, State

KINDS = {
    "ongoing": "ongoing",
    "stay": "stay",
    "recurring": "recurring",
    "offline": "offline",
    "one_time": "one-time",
}
"""Each code kind and how a legend names it, in the legend's order."""

COLOURS = {
    "ongoing": "#0072b2",
    "stay": "#009e73",
    "recurring": "#cc79a7",
    "offline": "#e69f00",
    "one_time": "#d55e00",
}
"""Okabe and Ito's colour-blind-safe palette, one colour per kind."""

MARKS = {
    "programming": "goes on the lock",
    "update": "updated on the lock",
    "removal": "taken off the lock",
}


def local(moment: datetime, zone: ZoneInfo) -> str:
    """`2026-12-01 15:00` in the zone."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def window(entry: Entry, zone: ZoneInfo) -> str:
    """The code's window in the door's zone, as the text timeline says it."""
    starts, ends = entry.starts_at, entry.ends_at
    if starts is None and ends is None:
        return "always"
    if starts is None:
        assert ends is not None
        return f"until {local(ends, zone)}"
    if ends is None:
        return f"from {local(starts, zone)}"
    first, last = starts.astimezone(zone), ends.astimezone(zone)
    tail = last.strftime("%H:%M" if first.date() == last.date() else "%Y-%m-%d %H:%M")
    return f"{local(starts, zone)} → {tail}"


def state_line(entry: Entry, zone: ZoneInfo, now: datetime, pins: Sequence[str]) -> str:
    """Where the code stands, in a few words."""
    if entry.state is State.BLOCKED:
        return "blocked: " + mask_secrets("; ".join(entry.reasons), pins)
    if entry.state is State.ONGOING:
        return "on the lock, opens the door now"
    if entry.state is State.ON_LOCK:
        return "on the lock, its window to come"
    when = "now" if entry.due_at is None or entry.due_at <= now else local(entry.due_at, zone)
    return f"{entry.change} due {when}"


def bar_title(
    entry: Entry,
    device: str,
    name: str,
    zone: ZoneInfo,
    now: datetime,
    drift: Sequence[str],
    pins: Sequence[str],
) -> str:
    """A bar's hover text: whose code, which kind, on which door, when (door's zone), where
    it stands, and its drift."""
    lines = [
        f"{name} · {KINDS.get(str(entry.kind), str(entry.kind))} · {device}",
        f"{window(entry, zone)} ({zone.key})",
    ]
    if entry.programmed_from is not None and not entry.on_lock and entry.change == "create":
        when = "now" if entry.programmed_from <= now else local(entry.programmed_from, zone)
        lines.append(f"goes on the lock {when}")
    else:
        lines.append(state_line(entry, zone, now, pins))
    lines += [f"drift: {line}" for line in drift]
    return "\n".join(lines)


def mark_title(kind: str, at: datetime, zone: ZoneInfo, now: datetime) -> str:
    """A mark's hover text: what happens then, in the door's zone (the bar's text names it)."""
    return f"{MARKS[kind]} {'now' if at <= now else local(at, zone)}"


def tick_label(moment: datetime, *, day: bool, month: bool = False) -> str:
    """`Tue 24` at a midnight (`01 Dec` with `month`, the first tick, and on a month's first
    day), else `15:00` (the moment is local already)."""
    if not day:
        return moment.strftime("%H:%M")
    return moment.strftime("%d %b" if month or moment.day == 1 else "%a %d")
