"""Durations across clock changes follow RFC 5545 (DURATION in iCalendar).

Hours, minutes and seconds are elapsed time: a `3h` window from 01:30 on a change night lasts
3 real hours and ends at whatever the wall shows then. Days and weeks are nominal: `1d` ends at
the same wall time the next day. `1d2h` is one calendar day, then 2 elapsed hours. A start the
clock skips or repeats still moves past the gap or takes the first one, and says so in a warning.
All dates are in 2027; the change times were checked with zoneinfo.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import CliRunner

from reconciler.core.models import (
    Capabilities,
    DesiredCode,
    DesiredDevice,
    DeviceId,
    DeviceKey,
    Schedule,
)
from reconciler.core.settings import Settings
from reconciler.planning.schedule import occurrences, targets

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def recurring(cron: str, duration: timedelta, days: int | None = None) -> DesiredCode:
    """A recurring code called Cleaner on a lock called `front`."""
    schedule = Schedule(cron=cron, duration=duration, days=days)
    return DesiredCode(device=DeviceKey("front"), name="Cleaner", schedule=schedule)


def only_window(code: DesiredCode, zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """The one window of `code` in the day after `now`."""
    [window] = occurrences(code, zone, now=now, horizon=timedelta(days=1))
    return window


def wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """What a clock on the wall in `zone` shows at `moment`."""
    return moment.astimezone(zone).replace(tzinfo=None)


def changes_offset(zone: ZoneInfo, moment: datetime) -> bool:
    """Whether `zone`'s UTC offset changes within the 6 hours after `moment` (UTC)."""
    return (
        moment.astimezone(zone).utcoffset()
        != (moment + timedelta(hours=6)).astimezone(zone).utcoffset()
    )


@pytest.mark.parametrize(
    ("zone", "cron", "now", "wall_end"),
    [
        (PARIS, "30 1 28 3 *", datetime(2027, 3, 27, 12, tzinfo=UTC), datetime(2027, 3, 28, 5, 30)),
        (
            PARIS,
            "30 1 31 10 *",
            datetime(2027, 10, 30, 12, tzinfo=UTC),
            datetime(2027, 10, 31, 3, 30),
        ),
        (
            NEW_YORK,
            "30 1 14 3 *",
            datetime(2027, 3, 13, 12, tzinfo=UTC),
            datetime(2027, 3, 14, 5, 30),
        ),
        (
            NEW_YORK,
            "30 1 7 11 *",
            datetime(2027, 11, 6, 12, tzinfo=UTC),
            datetime(2027, 11, 7, 3, 30),
        ),
    ],
    ids=["paris-forward", "paris-back", "new-york-forward", "new-york-back"],
)
def test_three_hours_from_0130_on_a_change_night_are_three_real_hours(
    zone: ZoneInfo, cron: str, now: datetime, wall_end: datetime
) -> None:
    """A `3h` window from 01:30 lasts exactly 3 h; the wall shows 4 h (forward) or 2 h (back)."""
    start, end = only_window(recurring(cron, timedelta(hours=3)), zone, now)
    assert changes_offset(zone, start)
    assert wall(start, zone).hour == 1 and wall(start, zone).minute == 30
    assert end - start == timedelta(hours=3)
    assert wall(end, zone) == wall_end


def test_one_day_across_a_change_keeps_its_wall_times() -> None:
    """`1d` from 10:00 the day before Paris springs forward ends at 10:00 the next day: 23 h."""
    code = recurring("0 10 27 3 *", timedelta(days=1))
    start, end = only_window(code, PARIS, datetime(2027, 3, 27, 0, tzinfo=UTC))
    assert wall(start, PARIS) == datetime(2027, 3, 27, 10, 0)
    assert wall(end, PARIS) == datetime(2027, 3, 28, 10, 0)
    assert end - start == timedelta(hours=23)


def test_one_day_two_hours_is_a_calendar_day_then_two_real_hours() -> None:
    """`1d2h` from 01:30 the day before the change: 01:30 next day (CET), then 2 real hours
    across the jump, so 04:30 CEST, not the 03:30 a wall-clock reading would give."""
    code = recurring("30 1 27 3 *", timedelta(days=1, hours=2))
    start, end = only_window(code, PARIS, datetime(2027, 3, 26, 12, tzinfo=UTC))
    assert wall(start, PARIS) == datetime(2027, 3, 27, 1, 30)
    assert wall(end, PARIS) == datetime(2027, 3, 28, 4, 30)
    assert end - start == timedelta(hours=26)  # 24 h (no change that day) + 2 h


def test_twenty_four_hours_written_as_hours_are_elapsed_when_the_split_is_given() -> None:
    """`24h` (days=0) from 10:00 before the change is 24 real hours: it ends at 11:00."""
    code = recurring("0 10 27 3 *", timedelta(hours=24), days=0)
    start, end = only_window(code, PARIS, datetime(2027, 3, 27, 0, tzinfo=UTC))
    assert end - start == timedelta(hours=24)
    assert wall(end, PARIS) == datetime(2027, 3, 28, 11, 0)


def test_lord_howe_thirty_minute_change_gives_three_real_hours() -> None:
    """Lord Howe goes from +10:30 to +11 at 02:00 on 3 October 2027: 01:30 + 3 h ends 05:00."""
    zone = ZoneInfo("Australia/Lord_Howe")
    start, end = only_window(
        recurring("30 1 3 10 *", timedelta(hours=3)), zone, datetime(2027, 10, 2, 0, tzinfo=UTC)
    )
    assert changes_offset(zone, start)
    assert end - start == timedelta(hours=3)
    assert wall(end, zone) == datetime(2027, 10, 3, 5, 0)


def test_lord_howe_skipped_start_moves_by_thirty_minutes() -> None:
    """02:15 does not exist that night (02:00 -> 02:30): the window starts 02:45, 1 h long."""
    zone = ZoneInfo("Australia/Lord_Howe")
    start, end = only_window(
        recurring("15 2 3 10 *", timedelta(hours=1)), zone, datetime(2027, 10, 2, 0, tzinfo=UTC)
    )
    assert wall(start, zone) == datetime(2027, 10, 3, 2, 45)
    assert end - start == timedelta(hours=1)


def test_havana_changes_at_midnight_and_a_skipped_0030_moves_to_0130() -> None:
    """Havana jumps from 00:00 to 01:00 on 14 March 2027: 23:30 + 3 h is 3 real hours (03:30
    on the wall), and a 00:30 start becomes 01:30."""
    zone = ZoneInfo("America/Havana")
    midnight = datetime(2027, 3, 14, 0, 0)
    assert midnight.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).hour == 1  # skipped
    now = datetime(2027, 3, 13, 12, tzinfo=UTC)
    start, end = only_window(recurring("30 23 13 3 *", timedelta(hours=3)), zone, now)
    assert end - start == timedelta(hours=3)
    assert wall(end, zone) == datetime(2027, 3, 14, 3, 30)
    skipped, _ = only_window(recurring("30 0 14 3 *", timedelta(hours=1)), zone, now)
    assert wall(skipped, zone) == datetime(2027, 3, 14, 1, 30)


def test_tokyo_without_dst_reads_the_same_either_way() -> None:
    """Tokyo has no change: `3h` and `1d` from 01:30 end at 04:30 and 01:30 the next day."""
    zone = ZoneInfo("Asia/Tokyo")
    now = datetime(2027, 3, 27, 0, tzinfo=UTC)
    start, end = only_window(recurring("30 1 28 3 *", timedelta(hours=3)), zone, now)
    assert (end - start, wall(end, zone)) == (timedelta(hours=3), datetime(2027, 3, 28, 4, 30))
    start, end = only_window(recurring("30 1 28 3 *", timedelta(days=1)), zone, now)
    assert (end - start, wall(end, zone)) == (timedelta(days=1), datetime(2027, 3, 29, 1, 30))


def warnings_for(cron: str, now: datetime) -> list[tuple[str, ...]]:
    """The warnings of each target of a daily-ish Paris cleaner in the horizon."""
    code = recurring(cron, timedelta(hours=1))
    device = DesiredDevice(key=DeviceKey("front"), device_id=DeviceId("lock-1"), codes=(code,))
    capabilities = Capabilities(timezone="Europe/Paris")
    config = Settings(horizon=timedelta(days=3))
    return [target.warnings for target in targets(device, capabilities, config, now=now)]


def test_a_skipped_start_warns_naming_the_code() -> None:
    """02:30 on 28 March 2027 in Paris: that occurrence warns; the days around it do not."""
    found = warnings_for("30 2 * * *", datetime(2027, 3, 27, 3, tzinfo=UTC))
    assert found == [
        (
            "Cleaner: 02:30 does not exist on 2027-03-28 in Europe/Paris (clocks go forward); "
            "the window starts at 03:30",
        ),
        (),
        (),
    ]


def test_a_repeated_start_warns_and_takes_the_first() -> None:
    """02:30 happens twice on 31 October 2027 in Paris: the warning says the first is used."""
    found = warnings_for("30 2 * * *", datetime(2027, 10, 30, 3, tzinfo=UTC))
    assert found == [
        (
            "Cleaner: 02:30 occurs twice on 2027-10-31 in Europe/Paris (clocks go back); "
            "the window starts at the first, 02:30 UTC+0200",
        ),
        (),
        (),
    ]


CONFIG = """\
version: 1
provider:
  kind: sim
  fleet:
    paris_lock: {profile: ultraloq, timezone: Europe/Paris}
settings:
  timezone: UTC
devices:
  front:
    device_id: paris_lock
    codes:
      - {name: Night, code: "736194", schedule: {cron: "30 1 28 3 *", duration: 3h}}
      - {name: Cleaner, code: "639027", schedule: {cron: "30 2 28 3 *", duration: 1h}}
"""


@pytest.mark.timeout(120)
def test_plan_on_the_simulator_shows_real_hours_and_the_warning(
    cli: CliRunner, tmp_path: Path
) -> None:
    """`accesscodes plan --format json` on Paris's spring-forward night: the `3h` window is
    00:30Z-03:30Z and the skipped 02:30 cleaner starts 03:30 CEST with a warning."""
    (tmp_path / "accesscodes.yaml").write_text(CONFIG)
    result = cli("plan", "--now", "2027-03-27T12:00:00Z", "--format", "json")
    assert result.code == 0, result.output
    changes = {c["name"]: c for c in json.loads(result.out)["changes"]}
    night, cleaner = changes["Night"], changes["Cleaner"]
    assert (night["after"]["starts_at"], night["after"]["ends_at"]) == (
        "2027-03-28T00:30:00Z",
        "2027-03-28T03:30:00Z",
    )
    assert night["warnings"] == []
    assert cleaner["after"]["starts_at"] == "2027-03-28T01:30:00Z"
    assert cleaner["warnings"] == [
        "Cleaner: 02:30 does not exist on 2027-03-28 in Europe/Paris (clocks go forward); "
        "the window starts at 03:30"
    ]


def test_hours_written_past_a_day_are_elapsed_time_from_the_config(tmp_path: Path) -> None:
    """`24h` in the config is 24 real hours (RFC 5545), `1d` the next day at the same time."""
    from reconciler.config.load import load_config

    text = (
        "version: 1\nsettings: {timezone: Europe/Paris}\ndevices:\n  door:\n"
        "    device_id: lock_1\n    codes:\n"
        '      - {name: A, code: "482913", schedule: {cron: "0 12 27 3 *", duration: 24h}}\n'
        '      - {name: B, code: "539170", schedule: {cron: "0 12 27 3 *", duration: 1d}}\n'
    )
    (tmp_path / "accesscodes.yaml").write_text(text)
    a, b = load_config(tmp_path / "accesscodes.yaml", environ={}).devices[0].codes
    assert a.schedule is not None and a.schedule.days == 0
    assert b.schedule is not None and b.schedule.days == 1
    paris, now = ZoneInfo("Europe/Paris"), datetime(2027, 3, 20, tzinfo=UTC)
    ((a_start, a_end),) = occurrences(a, paris, now=now, horizon=timedelta(days=14))
    ((b_start, b_end),) = occurrences(b, paris, now=now, horizon=timedelta(days=14))
    assert a_end - a_start == timedelta(hours=24)  # across the spring-forward night
    assert b_end - b_start == timedelta(hours=23)  # the same wall time, 12:00, next day
    assert b_end.astimezone(paris).hour == 12
