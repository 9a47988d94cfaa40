"""Time: which zone a code's times are in, recurring windows, and when a change falls due.

A code's window is turned into UTC with the device's zone (config, then provider, then
`settings.timezone`). Recurring schedules are expanded in local wall-clock time, so a weekly
10:00 cleaner stays 10:00 across DST. Lead times follow the seeds: a lock that schedules natively
is programmed 72 h ahead; otherwise the code goes on 30 minutes before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from reconciler.models import Capabilities, CodeSpec, DesiredCode, DesiredDevice, SourceRef
from reconciler.settings import Settings

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
    """Attach `zone`; a wall time skipped by a DST jump moves forward past the gap."""
    aware = wall.replace(tzinfo=zone)
    round_trip = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != wall:
        aware = (aware.astimezone(UTC)).astimezone(zone)
    return aware


@dataclass(frozen=True)
class Target:
    """One code the config wants on a lock, resolved to UTC: an occurrence of a schedule, or
    the code itself. `program_at` is when it should be put on the lock (None: any time)."""

    code: DesiredCode
    spec: CodeSpec = field(repr=False)
    occurrence: datetime | None = None
    program_at: datetime | None = None

    @property
    def source(self) -> SourceRef | None:
        """The config line this target came from."""
        return self.code.source


def occurrences(
    code: DesiredCode, zone: ZoneInfo, *, now: datetime, horizon: timedelta
) -> list[tuple[datetime, datetime]]:
    """The (start, end) windows in UTC of a recurring code that end after `now` and start
    before `now + horizon`."""
    assert code.schedule is not None
    schedule = code.schedule
    local_zone = ZoneInfo(schedule.timezone) if schedule.timezone else zone
    local_start = (now - schedule.duration).astimezone(local_zone).replace(tzinfo=None)
    until = now + horizon
    iterator = croniter(schedule.cron, local_start)
    windows = []
    while True:
        wall = iterator.get_next(datetime)
        start = _localize(wall, local_zone).astimezone(UTC)
        if start >= until:
            return windows
        end = (_localize(wall, local_zone) + schedule.duration).astimezone(UTC)
        if end > now:
            windows.append((start, end))


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
    """Every code the device should hold or will hold within the horizon, in UTC."""
    zone = device_zone(device, capabilities, settings)
    out: list[Target] = []
    for code in device.codes:
        if code.schedule is not None:
            previous_end: datetime | None = None
            for start, end in occurrences(code, zone, now=now, horizon=settings.horizon):
                target = _target(code, start, end, capabilities, settings, occurrence=start)
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
        out.append(_target(code, start, end, capabilities, settings))
    return out


def _target(
    code: DesiredCode,
    start: datetime | None,
    end: datetime | None,
    capabilities: Capabilities,
    settings: Settings,
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
    )
    program_at = None
    if start is not None and end is not None and not code.offline:
        program_at = start - lead_time(code, capabilities, settings)
    return Target(code=code, spec=spec, occurrence=occurrence, program_at=program_at)
