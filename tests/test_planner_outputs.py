"""What each change of a plan carries, and loops that must go on past one code.

Mutation testing (docs/quality.md) found these unchecked in-process: the live code's id and
state on a blocked or unchanged code, the warning of an offline code, the name rules of a lock,
and the loops over devices, codes and extraneous codes going on past the first one that is
blocked, unknown or expired.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.core.models import (
    AccessCodeId,
    Capabilities,
    CodeConstraint,
    CodeStatus,
    DesiredCode,
    DesiredDevice,
    Device,
    DeviceId,
    DeviceKey,
    LiveCode,
    LiveDevice,
    WrittenCode,
)
from reconciler.core.plan import Action, CodeState, DriftKind, Plan
from reconciler.core.settings import Settings
from reconciler.planning.drift import LastWritten
from reconciler.planning.planner import plan

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DOOR, BACK = DeviceKey("door"), DeviceKey("back")
LOCK, BACK_LOCK = DeviceId("lock_door"), DeviceId("lock_back")
NATIVE = Capabilities(native_scheduling=True)


def on_door(name: str, pin: str | None, **values: object) -> LiveCode:
    """A code on the door lock."""
    return LiveCode(AccessCodeId(f"ac_{name}"), LOCK, name, pin, **values)  # type: ignore[arg-type]


def door_plan(
    wanted: tuple[DesiredCode, ...],
    codes: tuple[LiveCode, ...] = (),
    *,
    caps: Capabilities = NATIVE,
    prune: bool = False,
    last_written: LastWritten | None = None,
) -> Plan:
    """Plan the door lock alone."""
    live = LiveDevice(Device(LOCK, "Door", caps), codes=codes)
    return plan(
        [DesiredDevice(DOOR, LOCK, codes=wanted)],
        {LOCK: live},
        now=NOW,
        settings=Settings(prune=prune),
        last_written=last_written,
    )


def test_code_states_copy_every_field_they_show() -> None:
    live = LiveCode(
        AccessCodeId("ac_1"),
        LOCK,
        "Ann",
        "736194",
        starts_at=NOW,
        ends_at=NOW + HOUR,
        status=CodeStatus.SETTING,
        is_offline=True,
        is_one_time_use=True,
    )
    assert CodeState.of_live(live) == CodeState("736194", NOW, NOW + HOUR, True, True, "setting")
    (create,) = door_plan(
        (DesiredCode(DOOR, "Ann", offline=True, one_time_use=True, starts_at=NOW),),
        caps=Capabilities(offline_codes=True, one_time_codes=True),
    ).changes
    assert create.after == CodeState(None, NOW, NOW + 24 * HOUR, True, True)


def test_a_pin_the_lock_refuses_on_a_held_code_is_blocked_with_the_live_state() -> None:
    six_only = Capabilities(native_scheduling=True, supported_code_lengths=(6,))
    wanted = (DesiredCode(DOOR, "Ann", "4821"), DesiredCode(DOOR, "Ben", "905172"))
    result = door_plan(wanted, (on_door("Ann", "736194"),), caps=six_only)
    assert [(str(c.action), c.name) for c in result.changes] == [
        ("create", "Ben"),  # the codes after a blocked one are still planned
        ("blocked", "Ann"),
    ]
    blocked = result.changes[1]
    assert blocked.access_code_id == "ac_Ann"
    assert blocked.before == CodeState("736194", status="set")
    assert blocked.reasons == ("generic locks take PINs of 6 digits, not 4",)


def test_an_unchanged_code_shows_what_is_on_the_lock_and_what_is_wanted() -> None:
    (noop,) = door_plan((DesiredCode(DOOR, "Ann", "736194"),), (on_door("Ann", "736194"),)).changes
    assert (noop.action, noop.access_code_id) == (Action.NOOP, "ac_Ann")
    assert (noop.before, noop.after) == (CodeState("736194", status="set"), CodeState("736194"))


def test_issuing_an_offline_code_warns_until_when_it_stays_valid() -> None:
    start = NOW + HOUR
    offline = DesiredCode(DOOR, "Guest", offline=True, starts_at=start, ends_at=start + 5 * HOUR)
    (create,) = door_plan((offline,), caps=Capabilities(offline_codes=True)).changes
    assert create.reasons == ("missing on device", "issues a hourly-bound offline code")
    assert create.warnings == (
        "irreversible: an offline code cannot be changed or revoked; "
        "it stays valid until 2026-11-23T21:00:00Z",
    )


def test_a_name_the_lock_refuses_is_blocked() -> None:
    short_names = Capabilities(code_constraints=(CodeConstraint("name_length", max_length=5),))
    (blocked,) = door_plan((DesiredCode(DOOR, "Guest Bob", "736194"),), caps=short_names).changes
    assert blocked.reasons == ("name must be at most 5 characters",)


def test_a_device_the_provider_does_not_know_does_not_stop_the_next_one() -> None:
    wanted = [
        DesiredDevice(DOOR, LOCK, codes=(DesiredCode(DOOR, "Ann", "736194"),)),
        DesiredDevice(BACK, BACK_LOCK, codes=(DesiredCode(BACK, "Ben", "482913"),)),
    ]
    live = {BACK_LOCK: LiveDevice(Device(BACK_LOCK, "Back", NATIVE))}
    result = plan(wanted, live, now=NOW, settings=Settings())
    assert [(str(c.action), c.device, c.name) for c in result.changes] == [
        ("blocked", "door", "Ann"),
        ("create", "back", "Ben"),
    ]


def test_an_expired_extraneous_code_does_not_stop_pruning_the_next() -> None:
    expired = on_door("Old", "736194", starts_at=NOW - 2 * HOUR, ends_at=NOW - HOUR)
    current = on_door("Stale", "482913")
    result = door_plan((), (expired, current), prune=True)
    assert [(str(c.action), c.name, c.access_code_id) for c in result.changes] == [
        ("delete", "Stale", "ac_Stale")
    ]
    assert result.changes[0].before == CodeState("482913", status="set")


def test_pruning_an_issued_offline_code_is_blocked_naming_it() -> None:
    issued = on_door("Guest", "736194", starts_at=NOW, ends_at=NOW + HOUR, is_offline=True)
    (blocked,) = door_plan((), (issued,), prune=True).changes
    assert (blocked.action, blocked.name, blocked.access_code_id) == (
        Action.BLOCKED,
        "Guest",
        "ac_Guest",
    )
    assert blocked.before == CodeState("736194", NOW, NOW + HOUR, offline=True, status="set")


def test_an_extraneous_code_stuck_setting_is_reported() -> None:
    record = WrittenCode(AccessCodeId("ac_Old"), LOCK, "Old", "fp", NOW - 20 * timedelta(minutes=1))
    journal = LastWritten({record.access_code_id: record}, lambda pin, start, end: "fp")
    result = door_plan(
        (), (on_door("Old", "736194", status=CodeStatus.SETTING),), last_written=journal
    )
    assert [d.kind for d in result.drift] == [DriftKind.EXTRANEOUS, DriftKind.STUCK_SETTING]


def test_a_deferred_create_without_a_slot_is_blocked_now_not_deferred() -> None:
    one_slot = Capabilities(native_scheduling=True, max_active_codes=1)
    start = NOW + 5 * 24 * HOUR
    guest = DesiredCode(DOOR, "Guest", "482913", starts_at=start, ends_at=start + 24 * HOUR)
    result = door_plan(
        (DesiredCode(DOOR, "Ann", "736194"), guest), (on_door("Ann", "736194"),), caps=one_slot
    )
    blocked = next(c for c in result.changes if c.name == "Guest")
    assert (blocked.action, blocked.due_at, blocked.deferred) == (Action.BLOCKED, None, False)
    assert result.summary["blocked"] == 1 and result.summary["deferred"] == 0
