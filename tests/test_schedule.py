"""Recurring windows and time zones: what `reconciler.planning.schedule` promises.

Cron starts are local wall-clock times; durations follow RFC 5545. The choices pinned down:

- a cron time is local: `0 10 * * TUE` in New York is 15:00Z in winter and 14:00Z in summer;
- a wall time skipped by spring-forward is shifted later by the gap (02:30 becomes 03:30);
- a wall time repeated by fall-back is used once, the first time (fold=0);
- a duration in hours or minutes is elapsed time: a 22:00 + 6 h window is 6 real hours even
  across DST (days, nominal, are in tests/test_rfc5545_durations.py);
- a window already open at `now` is still listed;
- the next occurrence of a code is never programmed before the previous one ends.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.models import (
    Capabilities,
    DesiredCode,
    DesiredDevice,
    DeviceId,
    DeviceKey,
    Schedule,
)
from reconciler.core.settings import Settings
from reconciler.planning.schedule import occurrences, targets, to_utc

NEW_YORK = ZoneInfo("America/New_York")
ZONES = (
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "UTC",
    "Pacific/Auckland",
)
YEARS_START = datetime(2026, 1, 1, tzinfo=UTC)
YEARS_END = datetime(2028, 1, 1, tzinfo=UTC)
CRON_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")  # cron numbers them 0-6


def recurring(cron: str, duration: timedelta, timezone: str | None = None) -> DesiredCode:
    """A recurring code on a lock called `front`."""
    return DesiredCode(
        device=DeviceKey("front"),
        name="Cleaner",
        schedule=Schedule(cron=cron, duration=duration, timezone=timezone),
    )


def wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """What a clock on the wall in `zone` shows at `moment`."""
    return moment.astimezone(zone).replace(tzinfo=None)


# --- 1. A weekly cleaner across DST ------------------------------------------------------


def test_weekly_cleaner_is_tuesday_10_local_all_year_and_utc_moves_with_dst() -> None:
    """`0 10 * * TUE` in New York: every Tuesday at 10:00 local, one per week, through the
    March and November changes of 2026 and 2027; 15:00Z in winter, 14:00Z in summer."""
    code = recurring("0 10 * * TUE", timedelta(hours=4))
    windows = occurrences(code, NEW_YORK, now=YEARS_START, horizon=YEARS_END - YEARS_START)

    tuesdays = [
        date(2026, 1, 6) + timedelta(weeks=n)
        for n in range(200)
        if date(2026, 1, 6) + timedelta(weeks=n) < date(2028, 1, 1)
    ]
    assert [wall(start, NEW_YORK).date() for start, _ in windows] == tuesdays
    for start, end in windows:
        assert wall(start, NEW_YORK).time() == time(10, 0)
        assert wall(end, NEW_YORK).time() == time(14, 0)
        summer = start.astimezone(NEW_YORK).dst() != timedelta(0)
        assert start.hour == (14 if summer else 15)

    by_day = {wall(start, NEW_YORK).date(): start for start, _ in windows}
    # Each change falls on a Sunday; the Tuesdays around it are a week apart in local time.
    for before, after, utc_before, utc_after in (
        (date(2026, 3, 3), date(2026, 3, 10), 15, 14),
        (date(2026, 10, 27), date(2026, 11, 3), 14, 15),
        (date(2027, 3, 9), date(2027, 3, 16), 15, 14),
        (date(2027, 11, 2), date(2027, 11, 9), 14, 15),
    ):
        assert by_day[before].hour == utc_before
        assert by_day[after].hour == utc_after
        assert by_day[after] - by_day[before] == timedelta(weeks=1, hours=utc_after - utc_before)


# --- 2. Properties over zones, crons, durations and moments --------------------------------


@cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """The UTC instants in 2026-2027 at which `zone_name` changes its offset."""
    zone = ZoneInfo(zone_name)
    found = []
    moment = YEARS_START
    while moment < YEARS_END:
        following = moment + timedelta(hours=1)
        if moment.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            found.append(following)
        moment = following
    return tuple(found)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ZoneInfo, DesiredCode, datetime, timedelta]:
    """A zone, a recurring code, a `now` in 2026-2027 and a horizon.

    Half the time `now` is within two weeks (or six hours) of one of the zone's DST changes and
    the hour is near the changes (00:00-03:00), so gaps, repeated hours and windows open across
    a change are hit often, not by luck.
    """
    zone_name = draw(st.sampled_from(ZONES))
    changes = transitions(zone_name)
    if changes and draw(st.booleans()):
        near = draw(st.sampled_from(changes))
        days_or_hours = draw(st.sampled_from((14 * 24 * 60, 6 * 60)))
        now = near + timedelta(minutes=draw(st.integers(-days_or_hours, days_or_hours)))
        hour = draw(st.sampled_from((0, 1, 2, 3)))
    else:
        span = int((YEARS_END - YEARS_START).total_seconds() // 60)
        now = YEARS_START + timedelta(minutes=draw(st.integers(0, span)))
        hour = draw(st.integers(0, 23))
    minute = draw(st.integers(0, 59))
    day = draw(st.sampled_from((*CRON_DAYS, "*")))
    duration = timedelta(minutes=draw(st.integers(15, 12 * 60)))
    horizon = timedelta(hours=draw(st.integers(1, 14 * 24)))
    code = recurring(f"{minute} {hour} * * {day}", duration)
    return ZoneInfo(zone_name), code, now, horizon


def localize_by_search(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant for a wall time, found without `fold`: try the offsets in force a day
    either side; the earliest that shows `local` on the wall wins (a repeated hour counts once).
    If none does, the time was skipped: read it with the offset from before the jump, which
    lands the length of the gap later on the wall (02:30 -> 03:30)."""
    before = (local - timedelta(days=1)).replace(tzinfo=zone).utcoffset()
    after = (local + timedelta(days=1)).replace(tzinfo=zone).utcoffset()
    assert before is not None and after is not None
    candidates = [(local - offset).replace(tzinfo=UTC) for offset in (before, after)]
    shown = [c for c in candidates if wall(c, zone) == local]
    return min(shown) if shown else (local - before).replace(tzinfo=UTC)


def brute_force(
    code: DesiredCode, zone: ZoneInfo, now: datetime, horizon: timedelta
) -> list[tuple[datetime, datetime]]:
    """Every window, found day by day from the cron's fields (only `M H * * D` crons)."""
    assert code.schedule is not None
    minute, hour, _, _, day = code.schedule.cron.split()
    found = []
    first = wall(now - code.schedule.duration, zone).date() - timedelta(days=2)
    last = wall(now + horizon, zone).date() + timedelta(days=1)
    for n in range((last - first).days + 1):
        today = first + timedelta(days=n)
        if day != "*" and CRON_DAYS[(today.weekday() + 1) % 7] != day:
            continue
        start = localize_by_search(datetime.combine(today, time(int(hour), int(minute))), zone)
        end = start + code.schedule.duration  # hours and minutes: elapsed (RFC 5545)
        if end > now and start < now + horizon:
            found.append((start, end))
    return found


def gap_at(start: datetime, zone: ZoneInfo) -> timedelta:
    """How far a skipped wall time was shifted: the change in offset just before `start`."""
    earlier = (start - timedelta(hours=3)).astimezone(zone).utcoffset()
    later = start.astimezone(zone).utcoffset()
    assert earlier is not None and later is not None
    return later - earlier


PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(scenarios())
def test_every_window_is_well_formed_and_in_range(
    scenario: tuple[ZoneInfo, DesiredCode, datetime, timedelta],
) -> None:
    """start < end, the window ends after now and starts before now + horizon, and starts
    strictly increase (no occurrence twice, even in a repeated hour)."""
    zone, code, now, horizon = scenario
    windows = occurrences(code, zone, now=now, horizon=horizon)
    for start, end in windows:
        assert start.tzinfo is UTC and end.tzinfo is UTC
        assert start < end
        assert end > now
        assert start < now + horizon
    starts = [start for start, _ in windows]
    assert starts == sorted(set(starts))


@PROPERTY
@given(scenarios())
def test_each_start_is_the_cron_wall_time_or_shifted_past_a_gap(
    scenario: tuple[ZoneInfo, DesiredCode, datetime, timedelta],
) -> None:
    """The local wall time of a start is the cron's hour:minute, except on the day a DST jump
    skips that time: then it is later by exactly the length of the gap (02:30 -> 03:30)."""
    zone, code, now, horizon = scenario
    assert code.schedule is not None
    minute, hour = (int(field) for field in code.schedule.cron.split()[:2])
    for start, _ in occurrences(code, zone, now=now, horizon=horizon):
        shown = wall(start, zone)
        booked = datetime.combine(shown.date(), time(hour, minute))
        if shown != booked:
            gap = gap_at(start, zone)
            assert gap > timedelta(0)
            assert shown == booked + gap


@PROPERTY
@given(scenarios())
def test_no_occurrence_in_the_horizon_is_missing_or_extra(
    scenario: tuple[ZoneInfo, DesiredCode, datetime, timedelta],
) -> None:
    """The windows are exactly those a day-by-day expansion of the cron finds."""
    zone, code, now, horizon = scenario
    assert occurrences(code, zone, now=now, horizon=horizon) == brute_force(
        code, zone, now, horizon
    )


@PROPERTY
@given(scenarios())
def test_window_length_in_real_time_is_the_duration(
    scenario: tuple[ZoneInfo, DesiredCode, datetime, timedelta],
) -> None:
    """A duration in hours and minutes is elapsed time (RFC 5545): the window lasts exactly
    that long even if DST changes inside it; on the wall it is then longer or shorter."""
    zone, code, now, horizon = scenario
    assert code.schedule is not None
    for start, end in occurrences(code, zone, now=now, horizon=horizon):
        assert end - start == code.schedule.duration


def test_a_window_across_dst_lasts_its_real_hours() -> None:
    """Booked 22:00 + 6 h the night New York springs forward: 6 h real, 22:00-05:00 local."""
    code = recurring("0 22 7 3 *", timedelta(hours=6))
    now = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    [(start, end)] = occurrences(code, NEW_YORK, now=now, horizon=timedelta(days=1))
    assert wall(start, NEW_YORK) == datetime(2026, 3, 7, 22, 0)
    assert wall(end, NEW_YORK) == datetime(2026, 3, 8, 5, 0)
    assert end - start == timedelta(hours=6)


def test_a_skipped_start_moves_later_by_the_gap() -> None:
    """02:30 does not exist on 8 March 2026 in New York: that day's window starts 03:30."""
    code = recurring("30 2 * * *", timedelta(hours=1))
    now = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    windows = occurrences(code, NEW_YORK, now=now, horizon=timedelta(days=3))
    assert [wall(s, NEW_YORK) for s, _ in windows] == [
        datetime(2026, 3, 8, 3, 30),
        datetime(2026, 3, 9, 2, 30),
        datetime(2026, 3, 10, 2, 30),
    ]
    assert windows[0] == (
        datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
        datetime(2026, 3, 8, 8, 30, tzinfo=UTC),
    )


def test_a_skipped_start_shifted_onto_another_cron_time_counts_once() -> None:
    """`*/30` on spring-forward night: 02:00 and 02:30 shift to 03:00 and 03:30, which the cron
    names anyway; each window appears once."""
    code = recurring("*/30 * * * *", timedelta(minutes=15))
    now = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST
    windows = occurrences(code, NEW_YORK, now=now, horizon=timedelta(hours=2))
    assert [wall(s, NEW_YORK).time() for s, _ in windows] == [
        time(1, 0),
        time(1, 30),
        time(3, 0),
        time(3, 30),
    ]


# --- 3. A repeated hour -----------------------------------------------------------------


def test_a_repeated_wall_time_gives_one_occurrence_the_first() -> None:
    """01:30 happens twice on 1 November 2026 in New York (EDT, then EST): one window, from
    the first 01:30 (05:30Z), not a second from 06:30Z. It lasts 30 real minutes, to 06:00Z
    (01:00 EST, after the clock went back)."""
    code = recurring("30 1 * * SUN", timedelta(minutes=30))
    now = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
    windows = occurrences(code, NEW_YORK, now=now, horizon=timedelta(days=2))
    assert windows == [
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 0, tzinfo=UTC))
    ]


# --- 4. A window already open -----------------------------------------------------------


def test_a_window_open_now_is_included() -> None:
    """At 11:00 local on a Tuesday the 10:00-14:00 cleaner window is open: it is listed."""
    code = recurring("0 10 * * TUE", timedelta(hours=4))
    now = datetime(2026, 6, 9, 15, 0, tzinfo=UTC)  # Tuesday 11:00 EDT
    windows = occurrences(code, NEW_YORK, now=now, horizon=timedelta(days=8))
    assert windows[0] == (
        datetime(2026, 6, 9, 14, 0, tzinfo=UTC),
        datetime(2026, 6, 9, 18, 0, tzinfo=UTC),
    )
    assert len(windows) == 2


def test_a_window_open_across_fall_back_is_included() -> None:
    """Booked 01:00 + 2 h on fall-back night: 01:00 EDT to 02:00 EST, 2 h real. At the second
    01:30 (EST) it is still open and must be listed."""
    code = recurring("0 1 * * *", timedelta(hours=2))
    now = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    windows = occurrences(code, NEW_YORK, now=now, horizon=timedelta(hours=12))
    assert windows == [
        (datetime(2026, 11, 1, 5, 0, tzinfo=UTC), datetime(2026, 11, 1, 7, 0, tzinfo=UTC))
    ]


def test_the_schedules_own_zone_wins_over_the_devices() -> None:
    """A schedule with `timezone: Europe/London` runs on London time on a New York lock."""
    code = recurring("0 10 * * *", timedelta(hours=1), timezone="Europe/London")
    now = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
    [(start, _)] = occurrences(code, NEW_YORK, now=now, horizon=timedelta(hours=12))
    assert start == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


# --- 5. to_utc --------------------------------------------------------------------------


def test_to_utc_reads_a_naive_time_in_the_zone() -> None:
    """`2026-07-01 10:00` on a New York lock is 14:00Z; in January it is 15:00Z."""
    assert to_utc(datetime(2026, 7, 1, 10, 0), NEW_YORK) == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
    assert to_utc(datetime(2026, 1, 1, 10, 0), NEW_YORK) == datetime(2026, 1, 1, 15, 0, tzinfo=UTC)


def test_to_utc_keeps_the_instant_of_an_aware_time() -> None:
    """A time written with an offset is that instant whatever the device's zone."""
    written = datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert to_utc(written, NEW_YORK) == datetime(2026, 7, 1, 4, 30, tzinfo=UTC)
    assert to_utc(written, NEW_YORK).tzinfo is UTC


@pytest.mark.parametrize(
    ("naive", "expected"),
    [
        (datetime(2026, 3, 8, 2, 30), datetime(2026, 3, 8, 7, 30, tzinfo=UTC)),  # skipped
        (datetime(2026, 11, 1, 1, 30), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),  # repeated
    ],
)
def test_to_utc_of_a_skipped_or_repeated_time(naive: datetime, expected: datetime) -> None:
    """A skipped 02:30 is 03:30 EDT; a repeated 01:30 is the first one (EDT)."""
    assert to_utc(naive, NEW_YORK) == expected


# --- 6. Programming occurrences one at a time ------------------------------------------


def test_next_occurrence_is_not_programmed_before_the_previous_ends() -> None:
    """A daily 10:00 + 4 h code on a lock that schedules natively (72 h lead): each
    occurrence would go on 72 h early, while earlier ones still hold the PIN, so it waits
    for the previous one's end; the first keeps its 72 h lead."""
    code = recurring("0 10 * * *", timedelta(hours=4))
    device = DesiredDevice(key=DeviceKey("front"), device_id=DeviceId("lock-1"), codes=(code,))
    capabilities = Capabilities(native_scheduling=True, timezone="America/New_York")
    config = Settings(native_lead=timedelta(hours=72))
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    found = targets(device, capabilities, config, now=now)

    assert len(found) == 14
    first = found[0]
    assert first.spec.starts_at is not None
    assert first.program_at == first.spec.starts_at - timedelta(hours=72)
    for previous, following in pairwise(found):
        assert following.program_at is not None and previous.spec.ends_at is not None
        assert following.program_at >= previous.spec.ends_at
        assert following.program_at == previous.spec.ends_at
        assert following.spec.starts_at is not None
        assert following.program_at <= following.spec.starts_at
        assert following.occurrence == following.spec.starts_at
