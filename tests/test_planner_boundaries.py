"""Planner branches mutation testing found untested in-process (docs/quality.md).

Each test pins one branch on its boundary with real objects: the delete guard for a window open
now, `revoke: true`, backup and unmanaged codes, a window ending exactly now, a write due exactly
now, a retry of a code the lock failed to set, the order of writes when the lock is short of
slots, and drift from the journal's record of what was written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.core.models import (
    AccessCodeId,
    Capabilities,
    CodeStatus,
    DesiredCode,
    DesiredDevice,
    Device,
    DeviceId,
    DeviceKey,
    LiveCode,
    LiveDevice,
    ProviderIssue,
    Schedule,
    SourceRef,
    WrittenCode,
)
from reconciler.core.plan import Action, CodeState, Drift, DriftKind, Plan
from reconciler.core.settings import Settings
from reconciler.planning.drift import LastWritten
from reconciler.planning.planner import plan

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # a Monday
DOOR = DeviceKey("door")
LOCK = DeviceId("lock_door")
HOUR = timedelta(hours=1)


def want(name: str, pin: str | None = None, **values: object) -> DesiredCode:
    """A code the config wants on the door lock."""
    return DesiredCode(DOOR, name, pin, **values)  # type: ignore[arg-type]


def held(name: str, pin: str | None = None, **values: object) -> LiveCode:
    """A code on the door lock, its id made from its name (and start)."""
    start = values.get("starts_at")
    suffix = f"_{start:%d%H}" if isinstance(start, datetime) else ""
    return LiveCode(AccessCodeId(f"ac_{name}{suffix}"), LOCK, name, pin, **values)  # type: ignore[arg-type]


def run(
    wanted: tuple[DesiredCode, ...],
    codes: tuple[LiveCode, ...] = (),
    *,
    unmanaged: tuple[LiveCode, ...] = (),
    caps: Capabilities | None = None,
    now: datetime = NOW,
    last_written: LastWritten | None = None,
    **settings: object,
) -> Plan:
    """Plan the door lock with these codes wanted and these on it."""
    device = Device(LOCK, "Door", caps or Capabilities(native_scheduling=True))
    live = LiveDevice(device, codes=codes, unmanaged=unmanaged)
    return plan(
        [DesiredDevice(DOOR, LOCK, codes=wanted)],
        {LOCK: live},
        now=now,
        settings=Settings(**settings),  # type: ignore[arg-type]
        last_written=last_written,
    )


def steps(result: Plan) -> list[tuple[str, str]]:
    """(action, name) of each change, in plan order."""
    return [(str(c.action), c.name) for c in result.changes]


# -- the delete guard on a window open now ----------------------------------------------------


def test_pruning_a_code_whose_window_opens_exactly_now_is_guarded() -> None:
    guest = held("Guest", "736194", starts_at=NOW, ends_at=NOW + 2 * HOUR)
    (delete,) = run((), (guest,), prune=True).changes
    assert (delete.action, delete.access_code_id) == (Action.DELETE, "ac_Guest_2315")
    assert delete.guard == (
        "its window is active now (until 2026-11-23T17:00:00Z): apply needs --force, "
        "or keep it in the config with revoke: true"
    )
    assert delete.before == CodeState("736194", NOW, NOW + 2 * HOUR, status="set")


def test_pruning_a_code_in_its_last_second_is_guarded_and_at_its_end_is_left_alone() -> None:
    guest = held("Guest", "736194", starts_at=NOW - 2 * HOUR, ends_at=NOW + timedelta(seconds=1))
    (delete,) = run((), (guest,), prune=True).changes
    assert delete.guard is not None and delete.guard.startswith("its window is active now")
    ended = held("Guest", "736194", starts_at=NOW - 2 * HOUR, ends_at=NOW)
    result = run((), (ended,), prune=True)
    assert (result.changes, result.drift) == ((), ())  # ended: the lock removes it, not drift


def test_pruning_an_ongoing_code_or_one_not_begun_is_not_guarded() -> None:
    ongoing = held("Ann", "736194")
    later = held("Guest", "482913", starts_at=NOW + timedelta(seconds=1), ends_at=NOW + HOUR)
    result = run((), (ongoing, later), prune=True)
    assert [(c.name, c.guard) for c in result.changes] == [("Ann", None), ("Guest", None)]
    assert [c.reasons for c in result.changes] == [("not in the config (prune: true)",)] * 2


# -- revoke: true -----------------------------------------------------------------------------


def test_revoke_deletes_a_code_inside_its_window_without_a_guard() -> None:
    window = {"starts_at": NOW - HOUR, "ends_at": NOW + HOUR}
    guest = held("Guest", "736194", **window)
    (delete,) = run((want("Guest", "736194", revoke=True, **window),), (guest,)).changes
    assert (delete.action, delete.reasons, delete.guard) == (Action.DELETE, ("revoke: true",), None)
    assert delete.access_code_id == "ac_Guest_2314"
    assert delete.before == CodeState("736194", NOW - HOUR, NOW + HOUR, status="set")
    assert run((want("Gone", "736194", revoke=True),)).changes == ()  # nothing to take off


def test_revoke_of_a_protected_or_an_offline_code_is_blocked_saying_why() -> None:
    protected = want("Owner", "736194", revoke=True, protected=True)
    (blocked,) = run((protected,), (held("Owner", "736194"),)).changes
    assert (blocked.action, blocked.access_code_id) == (Action.BLOCKED, "ac_Owner")
    assert blocked.reasons == (
        "protected: true codes are never deleted by a plan; remove protected to revoke",
    )
    assert blocked.before == CodeState("736194", status="set")
    offline = held("Guest", "736194", starts_at=NOW, ends_at=NOW + HOUR, is_offline=True)
    (locked,) = run((want("Guest", revoke=True),), (offline,)).changes
    assert (locked.action, locked.access_code_id) == (Action.BLOCKED, "ac_Guest_2315")
    assert locked.reasons == (
        "an issued offline code cannot be revoked or changed; it stays valid until "
        "2026-11-23T16:00:00Z",
    )


def test_a_revoke_frees_its_slot_for_a_create_on_a_full_lock() -> None:
    full = Capabilities(native_scheduling=True, max_active_codes=1)
    result = run(
        (want("Guest", "736194", revoke=True), want("New", "482913")),
        (held("Guest", "736194"),),
        caps=full,
    )
    assert steps(result) == [("delete", "Guest"), ("create", "New")]  # room first


# -- which live codes are candidates ----------------------------------------------------------


def test_backup_and_unmanaged_codes_are_never_pruned() -> None:
    backup = held("Backup", "905172", is_backup=True)
    unmanaged = held("Keypad", "618350", is_managed=False)
    assert run((), (backup, unmanaged), prune=True).changes == ()


# -- boundaries in time -----------------------------------------------------------------------


def test_a_window_ending_exactly_now_is_deleted() -> None:
    window = {"starts_at": NOW - HOUR, "ends_at": NOW}
    (delete,) = run(
        (want("Guest", "736194", **window),), (held("Guest", "736194", **window),)
    ).changes
    assert (delete.action, delete.reasons) == (Action.DELETE, ("its window has ended",))
    assert delete.before == CodeState("736194", NOW - HOUR, NOW, status="set")


def test_a_create_falling_due_exactly_now_is_due_and_one_past_due_too() -> None:
    at_lead = want("Guest", "736194", starts_at=NOW + 72 * HOUR, ends_at=NOW + 80 * HOUR)
    late = want("Late", "482913", starts_at=NOW + HOUR, ends_at=NOW + 8 * HOUR)
    later = want("Later", "905172", starts_at=NOW + 73 * HOUR, ends_at=NOW + 80 * HOUR)
    result = run((at_lead, late, later))
    assert [(c.name, c.due_at, c.reasons) for c in result.changes] == [
        ("Guest", None, ("missing on device",)),
        ("Late", None, ("missing on device",)),
        ("Later", NOW + HOUR, ("missing on device; programmed 3d before it starts",)),
    ]


# -- updates ----------------------------------------------------------------------------------


def test_a_code_the_lock_failed_to_set_is_sent_again() -> None:
    failed = held("Ann", "736194", errors=(ProviderIssue("failed_to_set_on_device"),))
    (update,) = run((want("Ann", "736194"),), (failed,)).changes
    assert (update.action, update.changed) == (Action.UPDATE, ("status",))
    assert update.reasons == ("the lock failed to set it: sending it again",)
    assert update.spec is not None and update.spec.code == "736194"
    assert (update.access_code_id, update.before) == ("ac_Ann", CodeState("736194", status="set"))
    assert update.after == CodeState("736194")
    other = held("Ann", "736194", errors=(ProviderIssue("some_other_error"),))
    assert steps(run((want("Ann", "736194"),), (other,))) == [("noop", "Ann")]


def test_a_changed_window_names_both_fields() -> None:
    was = held("Guest", "736194", starts_at=NOW + HOUR, ends_at=NOW + 2 * HOUR)
    now_wanted = want("Guest", "736194", starts_at=NOW + 3 * HOUR, ends_at=NOW + 4 * HOUR)
    (update,) = run((now_wanted,), (was,)).changes
    assert update.changed == ("starts_at", "ends_at")
    assert update.reasons == ("starts_at, ends_at differ from the config",)
    ongoing = held("Guest", "736194")
    (bound,) = run((now_wanted,), (ongoing,)).changes
    assert bound.changed == ("starts_at", "ends_at")  # ongoing to time-bound: both
    started = held("Ann", "482913", starts_at=NOW - HOUR)  # an ongoing code with a start
    assert steps(run((want("Ann", "482913"),), (started,))) == [("noop", "Ann")]


def test_a_change_to_an_issued_offline_code_is_blocked_with_both_states() -> None:
    window = {"starts_at": NOW + HOUR, "ends_at": NOW + 30 * HOUR}
    issued = held("Guest", "736194", is_offline=True, **window)
    caps = Capabilities(offline_codes=True, native_scheduling=True)
    moved = want("Guest", offline=True, starts_at=NOW + HOUR, ends_at=NOW + 31 * HOUR)
    (blocked,) = run((moved,), (issued,), caps=caps).changes
    assert (blocked.action, blocked.changed) == (Action.BLOCKED, ("ends_at",))
    assert blocked.access_code_id == "ac_Guest_2316"
    assert blocked.before == CodeState(
        "736194", NOW + HOUR, NOW + 30 * HOUR, offline=True, status="set"
    )
    assert blocked.after is not None and blocked.after.ends_at == NOW + 31 * HOUR
    assert blocked.reasons == (
        "an issued offline code cannot be revoked or changed; it stays valid until "
        "2026-11-24T21:00:00Z",
    )


def test_a_pin_already_on_the_lock_is_not_checked_again() -> None:
    six_digits = held("Ann", "736194")
    four_only = Capabilities(native_scheduling=True, supported_code_lengths=(4,))
    assert steps(run((want("Ann", "736194"),), (six_digits,), caps=four_only)) == [("noop", "Ann")]


def test_a_new_pin_equal_to_an_unmanaged_one_is_blocked() -> None:
    keypad = held("Keypad", "736194", is_managed=False)
    (blocked,) = run((want("Ann", "736194"),), unmanaged=(keypad,)).changes
    assert blocked.action is Action.BLOCKED
    assert "another code on this lock has the same PIN" in blocked.reasons


# -- order and slots --------------------------------------------------------------------------

CHANGED = (want("Changed", "482913"), held("Changed", "111000"))
REVOKED = (want("Revoked", "905172", revoke=True), held("Revoked", "905172"))
NEW = want("New", "618350")


def test_writes_go_create_update_delete_when_the_lock_has_room() -> None:
    exactly_full = Capabilities(native_scheduling=True, max_active_codes=3)  # 2 held + 1 new
    result = run((REVOKED[0], CHANGED[0], NEW), (REVOKED[1], CHANGED[1]), caps=exactly_full)
    assert steps(result) == [("create", "New"), ("update", "Changed"), ("delete", "Revoked")]


def test_writes_go_delete_update_create_when_the_lock_is_short_of_slots() -> None:
    tight = Capabilities(native_scheduling=True, max_active_codes=3)
    keypad = (held("Keypad", "274619", is_managed=False),)  # it takes a slot too
    for wanted in ((CHANGED[0], REVOKED[0], NEW), (NEW, CHANGED[0], REVOKED[0])):
        result = run(wanted, (CHANGED[1], REVOKED[1]), unmanaged=keypad, caps=tight)
        assert steps(result) == [("delete", "Revoked"), ("update", "Changed"), ("create", "New")]


def test_an_update_does_not_free_a_slot_and_does_not_stop_the_slot_count() -> None:
    one_slot = Capabilities(native_scheduling=True, max_active_codes=1)
    result = run((CHANGED[0], NEW), (CHANGED[1],), caps=one_slot)
    assert steps(result) == [("update", "Changed"), ("blocked", "New")]
    blocked = result.changes[1]
    assert blocked.reasons == (
        "unplaced: no free slot: the lock holds at most 1 codes and all are programmed at "
        "2026-11-23T15:00:00Z; sooner stays come first",
    )
    assert (blocked.due_at, blocked.spec) == (None, None)
    roomy = Capabilities(native_scheduling=True, max_active_codes=5)
    assert steps(run((CHANGED[0], NEW), (CHANGED[1],), caps=roomy)) == [
        ("create", "New"),
        ("update", "Changed"),
    ]


# -- claiming live codes ----------------------------------------------------------------------


def test_each_occurrence_claims_its_own_live_code_whatever_the_listing_order() -> None:
    weekly = Schedule("0 10 * * TUE", timedelta(hours=4))
    first, second = datetime(2026, 11, 24, 10, tzinfo=UTC), datetime(2026, 12, 1, 10, tzinfo=UTC)
    on_lock = tuple(
        held("Cleaner", "736194", starts_at=s, ends_at=s + 4 * HOUR) for s in (second, first)
    )
    result = run(
        (want("Ben", "482913"), want("Cleaner", "736194", schedule=weekly)),
        (*on_lock, held("Ben", "482913")),  # Ben listed last: the search goes past others
    )
    assert [(str(c.action), c.name, c.occurrence) for c in result.changes] == [
        ("noop", "Ben", None),
        ("noop", "Cleaner", first),
        ("noop", "Cleaner", second),
    ]
    assert [c.access_code_id for c in result.changes] == [
        "ac_Ben",
        "ac_Cleaner_2410",
        "ac_Cleaner_0110",
    ]


def test_codes_of_a_device_the_provider_does_not_know_are_blocked_at_their_line() -> None:
    line = SourceRef("accesscodes.yaml", 9, 9)
    missing = DesiredDevice(
        DOOR, DeviceId("lock_gone"), codes=(DesiredCode(DOOR, "Ann", "736194", source=line),)
    )
    (blocked,) = plan([missing], {}, now=NOW, settings=Settings()).changes
    assert (blocked.action, blocked.device, blocked.device_id) == (
        Action.BLOCKED,
        DOOR,
        "lock_gone",
    )
    assert (blocked.source, blocked.reasons) == (
        line,
        ("device lock_gone was not found by the provider",),
    )


# -- drift from the journal -------------------------------------------------------------------


def fingerprint(pin: str, starts_at: datetime | None, ends_at: datetime | None) -> str:
    """A stand-in for the journal's keyed digest (the test needs no secrecy)."""
    return f"{pin}|{starts_at}|{ends_at}"


def written(
    name: str, pin: str, *, ends_at: datetime | None = None, ago: timedelta = HOUR
) -> WrittenCode:
    """The journal's record of a code written `ago` before NOW."""
    return WrittenCode(
        AccessCodeId(f"ac_{name}"), LOCK, name, fingerprint(pin, None, ends_at), NOW - ago, ends_at
    )


def test_the_journal_tells_missing_changed_and_stuck_codes() -> None:
    records = [
        written("Gone", "736194"),
        written("Expired", "482913", ends_at=NOW),  # ended: not missing
        written("Changed", "905172"),
        written("Stuck", "618350", ago=20 * timedelta(minutes=1)),
    ]
    journal = LastWritten({r.access_code_id: r for r in records}, fingerprint)
    live = (
        held("Changed", "111000"),
        held("Stuck", "618350", status=CodeStatus.SETTING),
    )
    result = run((want("Changed", "111000"), want("Stuck", "618350")), live, last_written=journal)
    assert sorted(result.drift, key=lambda d: d.name) == [
        Drift(
            DOOR,
            "Changed",
            DriftKind.MODIFIED_EXTERNALLY,
            "PIN or window changed outside accesscodes since it was last applied",
            "ac_Changed",
        ),
        Drift(
            DOOR,
            "Gone",
            DriftKind.MISSING,
            "written by accesscodes and no longer on the lock",
            "ac_Gone",
        ),
        Drift(
            DOOR,
            "Stuck",
            DriftKind.STUCK_SETTING,
            "still setting on the lock 15m after it was written",
            "ac_Stuck",
        ),
    ]


def test_an_extraneous_code_changed_outside_is_reported_twice() -> None:
    journal = LastWritten({AccessCodeId("ac_Old"): written("Old", "736194")}, fingerprint)
    result = run((), (held("Old", "905172"),), last_written=journal)
    assert [(d.name, d.kind) for d in result.drift] == [
        ("Old", DriftKind.EXTRANEOUS),
        ("Old", DriftKind.MODIFIED_EXTERNALLY),
    ]
