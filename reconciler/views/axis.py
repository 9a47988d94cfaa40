"""The time axis of the pictures: instants to pixels, and the ticks and day lines a period
gets in a zone.

Ticks are local wall-clock moments (hours of a day for a short period, midnights for a longer
one, Mondays for months), as many as fit `MIN_LABEL_GAP` apart; so a DST change moves a
label by an hour in UTC, never off its local midnight.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from reconciler.views import labels

LABEL_STEPS = (1, 2, 3, 6, 12, 24, 48, 168, 336, 672)  # hours between labelled ticks
MIN_LABEL_GAP = 60.0  # px between labelled ticks


@dataclass(frozen=True)
class Tick:
    """A labelled moment on the axis; `day`: it is a local midnight (the date is written)."""

    x: float
    at: datetime
    label: str
    day: bool


class Scale:
    """Instants to x: the period [start, end) over the plot's width."""

    def __init__(self, start: datetime, end: datetime, x0: float, width: float) -> None:
        self.start, self.end, self.x0, self.width = start, end, x0, width
        self.seconds = (end - start).total_seconds()

    def x(self, moment: datetime) -> float:
        """Where `moment` falls (outside the plot when it is outside the period)."""
        return self.x0 + (moment - self.start).total_seconds() / self.seconds * self.width

    def inside(self, moment: datetime | None) -> bool:
        """Whether the moment is within the period."""
        return moment is not None and self.start <= moment <= self.end


def axis(scale: Scale, zone: ZoneInfo) -> tuple[tuple[Tick, ...], tuple[float, ...]]:
    """The labelled ticks (as many as fit) and the day lines of the axis' zone."""
    per_hour = scale.width / (scale.seconds / 3600)
    step = next((s for s in LABEL_STEPS if s * per_hour >= MIN_LABEL_GAP), LABEL_STEPS[-1])
    ticks = []
    for at in local_points(scale, zone, step):
        local = at.astimezone(zone)
        day = local.hour == 0 and local.minute == 0
        label = labels.tick_label(local, day=day, month=not any(t.day for t in ticks))
        ticks.append(Tick(scale.x(at), at, label, day))
    grid = tuple(scale.x(t) for t in local_points(scale, zone, 24)) if per_hour * 24 >= 6 else ()
    return tuple(ticks), grid


def local_points(scale: Scale, zone: ZoneInfo, step: int) -> list[datetime]:
    """Local wall-clock moments every `step` hours within the period: hours of each day under a
    day, else midnights (every n days by the date's ordinal, weeks and more on Mondays)."""
    day = scale.start.astimezone(zone).date()
    last = scale.end.astimezone(zone).date()
    out = []
    while day <= last:
        if step < 24:
            hours: Iterable[int] = range(0, 24, step)
        elif step < 168:  # every n days, by the date's ordinal (the same days at any zoom)
            hours = (0,) if day.toordinal() % (step // 24) == 0 else ()
        else:  # every n weeks, on Mondays
            weeks = step // 168
            hours = (0,) if day.weekday() == 0 and (day.toordinal() // 7) % weeks == 0 else ()
        for hour in hours:
            at = datetime.combine(day, time(hour), zone).astimezone(UTC)
            # A time a DST gap skips lands on the next real hour: never twice the same tick.
            if scale.start <= at <= scale.end and (not out or at > out[-1]):
                out.append(at)
        day += timedelta(days=1)
    return out
