"""Time: which zone a code's times are in, recurring windows, and when a change falls due.

A code's window is turned into UTC with the device's zone (config, then provider, then
`settings.timezone`). Recurring starts are local wall-clock times, so a weekly 10:00 cleaner
stays 10:00 across DST; durations follow RFC 5545 (days nominal, hours elapsed). Lead times
follow the seeds: a lock that schedules natively is programmed 72 h ahead; otherwise the code
goes on 30 minutes before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from reconciler.core.models import (
    Capabilities,
    CodeSpec,
    DesiredCode,
    DesiredDevice,
    Schedule,
    SourceRef,
)
from reconciler.core.rules import offline_rounding
from reconciler.core.settings import Settings

ONE_TIME_VALIDITY = timedelta(hours=24)


def device_zone(device: DesiredDevice, capabilities: Capabilities, settings: Settings) -> ZoneInfo:
    """The zone for times written without an offset: config, then provider, then settings."""
    return ZoneInfo(device.timezone or capabilities.timezone or settings.timezone)


def to_utc(moment: datetime, zone: ZoneInfo) -> datetime:
    """A config time in UTC; a naive one is read as wall-clock time in `zone`."""
    if moment.tzinfo is None:
        moment = _localize(moment, zone)
    return moment.astimezone(UTC)


def _localize(wall: datetime, zone: ZoneInfo) -> datetime:
    """Attach `zone` to a wall-clock time, choosing one instant for every wall time.

    A wall time that occurs twice (fall back) is the first one (fold=0), so a window is never
    doubled. One that never occurs (spring forward) is shifted later by the length of the gap
    (02:30 becomes 03:30), the instant the clock would have shown it had it not jumped; this is
    PEP 495's fold=0 reading and what java.time does.
    """
    aware = wall.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != aware.replace(tzinfo=None):
        aware = instant.astimezone(zone)  # in a gap: the real time at that instant
    return aware


@dataclass(frozen=True)
class Target:
    """One code the config wants on a lock, resolved to UTC: an occurrence of a schedule, or
    the code itself. `program_at` is when it should be put on the lock (None: any time)."""

    code: DesiredCode
    spec: CodeSpec = field(repr=False)
    occurrence: datetime | None = None
    program_at: datetime | None = None
    warnings: tuple[str, ...] = ()

    @property
    def source(self) -> SourceRef | None:
        """The config line this target came from."""
        return self.code.source


def occurrences(
    code: DesiredCode, zone: ZoneInfo, *, now: datetime, horizon: timedelta
) -> list[tuple[datetime, datetime]]:
    """The (start, end) windows in UTC of a recurring code that end after `now` and start
    before `now + horizon`, oldest first.

    The cron runs on local wall-clock time (the schedule's own zone, else `zone`), so a
    `0 10 * * TUE` cleaner starts at 10:00 local all year and its UTC time moves with DST.
    Choices, so that a plan never surprises the person who booked the window:

    - A start that does not exist (the hour a spring-forward jump skips) is shifted later by
      the length of the gap, as PEP 495 and java.time do (02:30 becomes 03:30). If the cron
      also fires at that later time (`*/30 * * * *`), the two are one occurrence, not two.
    - A start that exists twice (the hour a fall-back repeats) is taken once, the first time
      (fold=0): the lock gets one window, not two.
    - The duration follows RFC 5545 (DURATION): days and weeks are nominal, so `1d` ends at
      the same wall time the next day; hours, minutes and seconds are elapsed, so `3h` is
      3 real hours even across a change. `1d2h` is one calendar day, then 2 real hours.
    Both kinds of start also give a warning: see `windows`.
    """
    return [(start, end) for start, end, _ in windows(code, zone, now=now, horizon=horizon)]


def windows(
    code: DesiredCode, zone: ZoneInfo, *, now: datetime, horizon: timedelta
) -> list[tuple[datetime, datetime, str | None]]:
    """`occurrences` with, for each, a warning when its start was skipped or repeated by a
    clock change (None otherwise), so the plan tells the person which window moved."""
    assert code.schedule is not None
    schedule = code.schedule
    local_zone = ZoneInfo(schedule.timezone) if schedule.timezone else zone
    days, exact = duration_parts(schedule)
    # Start a day early: nominal days are wall-clock time, so `now - duration` in UTC can be
    # up to a DST shift later than the start of a window still open now. Windows already over
    # are filtered out below.
    since = now - schedule.duration - timedelta(days=1)
    from croniter import croniter  # (loaded for the first schedule: most fleets have none)

    iterator = croniter(schedule.cron, since.astimezone(local_zone).replace(tzinfo=None))
    until = now + horizon
    found: list[tuple[datetime, datetime, str | None]] = []
    last_start: datetime | None = None
    while True:
        booked: datetime = iterator.get_next(datetime)
        local_start = _localize(booked, local_zone)
        start = local_start.astimezone(UTC)
        if start >= until:
            return found
        if last_start is not None and start <= last_start:
            continue  # a skipped wall time shifted onto one the cron also names
        last_start = start
        nominal_end = local_start.replace(tzinfo=None) + timedelta(days=days)
        end = _localize(nominal_end, local_zone).astimezone(UTC) + exact
        if end > now:
            found.append((start, end, _start_warning(code.name, booked, local_start)))


def _occurrences(
    code: DesiredCode, zone: ZoneInfo, now: datetime, settings: Settings
) -> list[tuple[datetime, datetime, str | None]]:
    """A recurring code's windows within the horizon, or a code's given windows (a cleaner
    between stays) that have not ended, oldest first."""
    if code.schedule is not None:
        return windows(code, zone, now=now, horizon=settings.horizon)
    given = sorted((to_utc(s, zone), to_utc(e, zone)) for s, e in code.windows)
    return [(start, end, None) for start, end in given if end > now]


def duration_parts(schedule: Schedule) -> tuple[int, timedelta]:
    """A schedule's duration as (nominal days, elapsed rest), RFC 5545's split: weeks count as
    7 days. `Schedule.days` says where the config drew the line; without it (a Schedule built
    in code) the timedelta's own days are taken as nominal."""
    days = schedule.duration.days if schedule.days is None else schedule.days
    return days, schedule.duration - timedelta(days=days)


def _start_warning(name: str, booked: datetime, local_start: datetime) -> str | None:
    """Why a window does not start at the wall time the cron names, or None if it does."""
    zone = local_start.tzinfo
    assert isinstance(zone, ZoneInfo)
    where = f"on {booked.date().isoformat()} in {zone.key}"
    if local_start.replace(tzinfo=None) != booked:
        return (
            f"{name}: {booked:%H:%M} does not exist {where} (clocks go forward); "
            f"the window starts at {local_start:%H:%M}"
        )
    if booked.replace(tzinfo=zone, fold=1).utcoffset() != local_start.utcoffset():
        return (
            f"{name}: {booked:%H:%M} occurs twice {where} (clocks go back); the window "
            f"starts at the first, {local_start:%H:%M} UTC{local_start:%z}"
        )
    return None


def lead_time(code: DesiredCode, capabilities: Capabilities, settings: Settings) -> timedelta:
    """How long before its start a time-bound code is put on the lock."""
    native = capabilities.native_scheduling and code.prefer_native_scheduling is not False
    return settings.native_lead if native else settings.jit_lead


def targets(
    device: DesiredDevice,
    capabilities: Capabilities,
    settings: Settings,
    *,
    now: datetime,
) -> list[Target]:
    """Every code the device should hold or will hold within the horizon, in UTC; a code's
    times are read in its own zone (a place's) if it has one, else the device's."""
    lock_zone = device_zone(device, capabilities, settings)
    out: list[Target] = []
    for code in device.codes:
        zone = ZoneInfo(code.timezone) if code.timezone else lock_zone
        if code.schedule is not None or code.windows:
            previous_end: datetime | None = None
            for start, end, warning in _occurrences(code, zone, now, settings):
                target = _target(code, start, end, capabilities, settings, zone, occurrence=start)
                if warning is not None:
                    target = replace(target, warnings=(warning,))
                if previous_end and target.program_at and target.program_at < previous_end:
                    # One PIN cannot be on a lock twice: the next occurrence waits its turn.
                    target = replace(target, program_at=previous_end)
                out.append(target)
                previous_end = end
            continue
        start = to_utc(code.starts_at, zone) if code.starts_at else None
        end = to_utc(code.ends_at, zone) if code.ends_at else None
        if code.one_time_use and start is not None:
            end = start + ONE_TIME_VALIDITY
        out.append(_target(code, start, end, capabilities, settings, zone))
    return out


def _target(
    code: DesiredCode,
    start: datetime | None,
    end: datetime | None,
    capabilities: Capabilities,
    settings: Settings,
    zone: ZoneInfo,
    *,
    occurrence: datetime | None = None,
) -> Target:
    spec = CodeSpec(
        name=code.name,
        code=code.code,
        starts_at=start,
        ends_at=end,
        offline=code.offline,
        one_time_use=code.one_time_use,
        prefer_native_scheduling=code.prefer_native_scheduling,
        new_pin=code.new_pin,
    )
    if code.offline and not code.one_time_use and start is not None and end is not None:
        spec = replace(spec, time_rounding=offline_rounding(spec, zone))
    program_at = None
    if start is not None and end is not None and not code.offline and settings.send_at_lead_time:
        program_at = start - lead_time(code, capabilities, settings)
    return Target(code=code, spec=spec, occurrence=occurrence, program_at=program_at)
