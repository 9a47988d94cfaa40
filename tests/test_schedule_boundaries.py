"""`schedule.targets` and `occurrences` on the branches mutation testing found untested.

What each target carries to the planner and the provider (its name, `prefer_native_scheduling`,
the offline rounding, when it is programmed), a device whose recurring code comes before its
other codes, and the edges of a recurring window: one ending exactly now, one open for days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

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

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # a Monday
DOOR = DeviceKey("door")
CAPS = Capabilities(native_scheduling=True, offline_codes=True, one_time_codes=True)
UTC_ZONE = ZoneInfo("UTC")


def device(*codes: DesiredCode) -> DesiredDevice:
    """The door lock wanting these codes."""
    return DesiredDevice(DOOR, DeviceId("lock_door"), codes=codes)


def test_every_code_after_a_recurring_one_is_a_target_too() -> None:
    weekly = DesiredCode(
        DOOR, "Cleaner", "736194", schedule=Schedule("0 10 * * TUE", timedelta(hours=4))
    )
    after = DesiredCode(DOOR, "Ann", "482913")
    found = targets(device(weekly, after), CAPS, Settings(), now=NOW)
    assert [(t.code.name, t.occurrence) for t in found] == [
        ("Cleaner", datetime(2026, 11, 24, 10, tzinfo=UTC)),
        ("Cleaner", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("Ann", None),
    ]
    assert [t.spec.name for t in found] == ["Cleaner", "Cleaner", "Ann"]


def test_a_target_keeps_the_codes_preference_for_native_scheduling() -> None:
    start = NOW + timedelta(days=5)
    codes = [
        DesiredCode(
            DOOR,
            f"Guest {n}",
            "736194",
            starts_at=start,
            ends_at=start + timedelta(days=1),
            prefer_native_scheduling=prefer,
        )
        for n, prefer in enumerate((False, True, None))
    ]
    found = targets(device(*codes), CAPS, Settings(), now=NOW)
    assert [t.spec.prefer_native_scheduling for t in found] == [False, True, None]


def test_only_bounded_offline_codes_get_a_rounding_and_none_a_program_time() -> None:
    start = datetime(2026, 12, 1, 15, tzinfo=UTC)
    codes = (
        DesiredCode(
            DOOR, "Hourly", offline=True, starts_at=start, ends_at=start + timedelta(hours=5)
        ),
        DesiredCode(
            DOOR, "Daily", offline=True, starts_at=start, ends_at=start + timedelta(days=30)
        ),
        DesiredCode(DOOR, "Once", offline=True, one_time_use=True, starts_at=start),
        DesiredCode(DOOR, "Online", "736194", starts_at=start, ends_at=start + timedelta(hours=5)),
        DesiredCode(DOOR, "Ongoing", "482913"),
    )
    found = {t.code.name: t for t in targets(device(*codes), CAPS, Settings(), now=NOW)}
    assert {name: t.spec.time_rounding for name, t in found.items()} == {
        "Hourly": "1h",
        "Daily": "1d",
        "Once": None,
        "Online": None,
        "Ongoing": None,
    }
    assert {name: t.program_at for name, t in found.items()} == {
        "Hourly": None,  # an offline code's PIN is computed, not programmed: any time
        "Daily": None,
        "Once": None,
        "Online": start - timedelta(hours=72),
        "Ongoing": None,
    }
    assert found["Once"].spec.ends_at == start + timedelta(hours=24)


def test_a_recurring_window_ending_exactly_now_is_over() -> None:
    cleaner = DesiredCode(
        DOOR, "Cleaner", "736194", schedule=Schedule("0 11 * * MON", timedelta(hours=4))
    )
    windows = occurrences(cleaner, UTC_ZONE, now=NOW, horizon=timedelta(days=7))
    assert windows == [
        (datetime(2026, 11, 30, 11, tzinfo=UTC), datetime(2026, 11, 30, 15, tzinfo=UTC))
    ]


def test_a_recurring_window_of_several_days_open_now_is_included() -> None:
    stay = DesiredCode(
        DOOR, "Tenant", "736194", schedule=Schedule("0 12 * * SAT", timedelta(days=3))
    )
    windows = occurrences(stay, UTC_ZONE, now=NOW, horizon=timedelta(days=1))
    assert windows == [
        (datetime(2026, 11, 21, 12, tzinfo=UTC), datetime(2026, 11, 24, 12, tzinfo=UTC))
    ]


def test_a_recurring_offline_code_is_rounded_in_the_locks_zone_across_dst() -> None:
    # 30 days from 10:00 local on 28 March: 10:00 local again (daily-bound), although in UTC
    # the end is an hour earlier in the day (Europe/Paris moves to summer time on 29 March).
    monthly = Schedule("0 10 28 * *", timedelta(days=30))
    code = DesiredCode(DOOR, "Tenant", offline=True, schedule=monthly)
    paris = DesiredDevice(DOOR, DeviceId("lock_door"), codes=(code,), timezone="Europe/Paris")
    found = targets(paris, CAPS, Settings(), now=datetime(2026, 3, 25, tzinfo=UTC))
    march = datetime(2026, 3, 28, 9, tzinfo=UTC)  # 10:00 in Paris, still winter time
    (first,) = [t for t in found if t.occurrence == march]
    assert first.spec.ends_at == datetime(2026, 4, 27, 8, tzinfo=UTC)
    assert first.spec.time_rounding == "1d"
