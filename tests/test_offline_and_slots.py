"""Offline and one-time codes, and slot capacity over time, at the planner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.core.models import (
    AccessCodeId,
    Capabilities,
    DesiredCode,
    DesiredDevice,
    Device,
    DeviceId,
    DeviceKey,
    LiveCode,
    LiveDevice,
)
from reconciler.core.plan import Action
from reconciler.core.settings import Settings
from reconciler.planning.planner import plan
from reconciler.providers.profiles import PROFILES

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
DOOR, LOCK = DeviceKey("door"), DeviceId("lock_1")
DAY = timedelta(days=1)


def run(
    caps: Capabilities,
    *codes: DesiredCode,
    live: tuple[LiveCode, ...] = (),
    prune: bool = False,
    now: datetime = NOW,
):
    device = DesiredDevice(DOOR, LOCK, codes=codes)
    state = {LOCK: LiveDevice(Device(LOCK, "Door", caps), codes=live)}
    return plan([device], state, now=now, settings=Settings(prune=prune))


def guest(name: str, start: datetime, days: float, **kw: object) -> DesiredCode:
    return DesiredCode(DOOR, name, starts_at=start, ends_at=start + timedelta(days=days), **kw)  # type: ignore[arg-type]


def test_issuing_an_offline_code_is_marked_irreversible() -> None:
    start = NOW + DAY
    result = run(PROFILES["igloohome"], guest("Parcel", start, 30, offline=True))
    (change,) = result.changes
    assert change.action is Action.CREATE and change.due_at is None
    assert "issues a daily-bound offline code" in change.reasons
    assert change.warnings[0].startswith("irreversible")


def test_an_offline_window_with_different_times_of_day_is_hourly_bound() -> None:
    start = NOW + DAY
    code = DesiredCode(
        DOOR, "Parcel", offline=True, starts_at=start, ends_at=start + timedelta(hours=5)
    )
    (change,) = run(PROFILES["lockly"], code).changes
    assert "issues a hourly-bound offline code" in change.reasons


def test_an_hourly_bound_offline_code_past_the_makers_cap_is_blocked() -> None:
    code = DesiredCode(
        DOOR, "Long", offline=True, starts_at=NOW + DAY, ends_at=NOW + DAY + timedelta(hours=700)
    )
    (change,) = run(PROFILES["igloohome"], code).changes
    assert change.action is Action.BLOCKED
    assert "at most 672 h" in change.reasons[0]


def test_an_oracode_offline_code_longer_than_31_days_is_blocked() -> None:
    (change,) = run(
        PROFILES["dormakaba_oracode"], guest("Long stay", NOW + DAY, 40, offline=True)
    ).changes
    assert change.action is Action.BLOCKED and "at most 31 days" in change.reasons[0]


def test_a_one_time_code_is_valid_exactly_24_hours() -> None:
    start = NOW + DAY
    code = DesiredCode(DOOR, "Parcel", offline=True, one_time_use=True, starts_at=start)
    (change,) = run(PROFILES["igloohome"], code).changes
    assert change.after is not None
    assert change.after.ends_at - change.after.starts_at == timedelta(hours=24)
    assert "issues a one-time offline code" in change.reasons


def test_an_issued_offline_code_is_never_deleted() -> None:
    issued = LiveCode(
        AccessCodeId("ac_1"),
        LOCK,
        "Parcel",
        "93716254",
        is_offline=True,
        starts_at=NOW - DAY,
        ends_at=NOW + DAY,
    )
    result = run(PROFILES["igloohome"], live=(issued,), prune=True)
    (change,) = result.changes
    assert change.action is Action.BLOCKED
    assert "cannot be revoked" in change.reasons[0] and "2026-11-24T15:00:00Z" in change.reasons[0]
    ended = run(
        PROFILES["igloohome"],
        guest("Parcel", NOW - 3 * DAY, 1, offline=True),
        live=(issued,),
        now=NOW + 2 * DAY,
    )
    assert [c.action for c in ended.changes] == []


def test_a_third_overlapping_guest_on_a_two_slot_lock_is_blocked_with_the_time() -> None:
    caps = Capabilities(max_active_codes=2, native_scheduling=False)
    start = NOW + DAY
    result = run(
        caps,
        guest("A", start, 3, code="736194"),
        guest("B", start + DAY, 3, code="482913"),
        guest("C", start + 2 * DAY, 3, code="905172"),
    )
    by_name = {c.name: c for c in result.changes}
    assert by_name["A"].action is Action.CREATE and by_name["B"].action is Action.CREATE
    assert by_name["C"].action is Action.BLOCKED
    assert "no free slot" in by_name["C"].reasons[0]
    assert "2026-11-26T14:30:00Z" in by_name["C"].reasons[0]  # when C would be programmed


def test_guests_that_follow_each_other_share_slots() -> None:
    caps = Capabilities(max_active_codes=1, native_scheduling=False)
    start = NOW + DAY
    result = run(
        caps, guest("A", start, 2, code="736194"), guest("B", start + 3 * DAY, 2, code="482913")
    )
    assert [c.action for c in result.changes] == [Action.CREATE, Action.CREATE]


def test_unmanaged_codes_take_slots() -> None:
    caps = Capabilities(max_active_codes=1)
    landlord = LiveCode(AccessCodeId("ac_9"), LOCK, "Landlord", "8642", is_managed=False)
    device = DesiredDevice(DOOR, LOCK, codes=(DesiredCode(DOOR, "Alice", "482913"),))
    state = {LOCK: LiveDevice(Device(LOCK, "Door", caps), unmanaged=(landlord,))}
    result = plan([device], state, now=NOW, settings=Settings())
    assert [c.action for c in result.changes] == [Action.BLOCKED]


def test_an_igloohome_daily_bound_code_shorter_than_29_days_is_blocked() -> None:
    (change,) = run(PROFILES["igloohome"], guest("Short", NOW + DAY, 2, offline=True)).changes
    assert change.action is Action.BLOCKED and "29-367 days" in change.reasons[0]


def test_a_daily_bound_offline_code_across_a_dst_change_is_sent_daily_bound() -> None:
    """15:00 to 15:00 in Paris over the March change is 14:00 to 13:00 UTC: the same time of
    day where the lock is, so Seam must be asked for `1d`, as the plan says (igloohome's
    daily-bound codes last 29 days or more)."""
    from zoneinfo import ZoneInfo

    from reconciler.providers.seam import create_body

    paris = ZoneInfo("Europe/Paris")
    start = datetime(2027, 3, 20, 15, 0, tzinfo=paris)
    code = DesiredCode(
        DOOR, "Month", offline=True, starts_at=start, ends_at=start.replace(month=4, day=19)
    )
    device = DesiredDevice(DOOR, LOCK, codes=(code,), timezone="Europe/Paris")
    state = {LOCK: LiveDevice(Device(LOCK, "Door", PROFILES["igloohome"]), codes=())}
    result = plan([device], state, now=datetime(2027, 3, 10, tzinfo=UTC), settings=Settings())
    (change,) = result.changes
    assert "issues a daily-bound offline code" in change.reasons
    assert change.spec is not None and change.spec.time_rounding == "1d"
    assert create_body(LOCK, change.spec)["max_time_rounding"] == "1d"
