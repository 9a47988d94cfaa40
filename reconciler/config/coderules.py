"""Rules on one code's fields that the schema cannot state: windows in order, a schedule or a
window, valid cron and zones, what offline and one-time codes need. Shared by the codes written
under `devices:` and those of people and stays (`config.holders`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reconciler.config.schema import ScheduleConfig
from reconciler.config.yamlsource import PathKey, Position
from reconciler.core.errors import Problem
from reconciler.core.settings import parse_duration


class Locator(Protocol):
    """What turns a config path into a located problem (the merged config)."""

    def problem(self, path: PathKey, message: str, *, key: bool = False) -> Problem: ...

    def at(self, path: PathKey, *, key: bool = False) -> Position: ...


class CodeFields(Protocol):
    """The per-code fields these rules read (a device's code or a person)."""

    code: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    schedule: ScheduleConfig | None
    offline: bool
    one_time_use: bool


def zone_problem(name: str, path: PathKey, merged: Locator) -> Iterable[Problem]:
    """An unknown IANA zone name, at the line that wrote it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        yield merged.problem(
            path, f"unknown time zone '{name}' (use an IANA name such as Europe/Paris)"
        )


def code_problems(code: CodeFields, at: PathKey, merged: Locator, zone: str) -> Iterable[Problem]:
    """Every rule one code's fields break, each at its field's line (`zone`: for naive times)."""
    if code.starts_at is not None and code.ends_at is None and not code.one_time_use:
        yield merged.problem((*at, "starts_at"), "starts_at and ends_at go together: add ends_at")
    if code.ends_at is not None and code.starts_at is None:
        yield merged.problem((*at, "ends_at"), "starts_at and ends_at go together: add starts_at")
    if (
        code.starts_at is not None
        and code.ends_at is not None
        and _aware(code.ends_at, zone) <= _aware(code.starts_at, zone)
    ):
        yield merged.problem((*at, "ends_at"), "ends_at must be after starts_at")
    if code.schedule is not None:
        if code.starts_at is not None or code.ends_at is not None:
            yield merged.problem(
                (*at, "schedule"), "a code has a schedule or a starts_at/ends_at window, not both"
            )
        cron = code.schedule.cron
        from croniter import croniter  # (only a config with schedules needs it)

        if len(cron.split()) != 5 or not croniter.is_valid(cron):
            yield merged.problem(
                (*at, "schedule", "cron"),
                f"invalid cron expression '{cron}' (five fields: minute hour day month weekday)",
            )
        if code.schedule.timezone:
            yield from zone_problem(code.schedule.timezone, (*at, "schedule", "timezone"), merged)
        if parse_duration(code.schedule.duration).total_seconds() <= 0:
            yield merged.problem((*at, "schedule", "duration"), "duration must be more than zero")
    if code.offline and code.code is not None:
        yield merged.problem(
            (*at, "code"),
            "an offline code's PIN comes from the lock maker's algorithm: remove code",
        )
    if code.one_time_use and not code.offline:
        yield merged.problem(
            (*at, "one_time_use"), "one_time_use codes are offline codes: add offline: true"
        )
    if code.one_time_use and code.starts_at is None:
        yield merged.problem(
            (*at, "one_time_use"), "a one-time code needs starts_at (valid 24 h from it)"
        )


def _aware(moment: datetime, zone: str) -> datetime:
    if moment.tzinfo is not None:
        return moment
    try:
        return moment.replace(tzinfo=ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return moment.replace(tzinfo=ZoneInfo("UTC"))
