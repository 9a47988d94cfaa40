"""`Plan` (summary, masking, checksum) and the reviewed-plan checks of `review.py`, in-process.

tests/test_reviewed_plan.py drives `plan --out` / `apply FILE` through the CLI; these tests call
the same functions directly, on their boundaries (a plan exactly `plan_ttl` old, a change due
exactly now), so that mutation testing (docs/quality.md), which only sees code run in the
test's own process, can tell when one moves.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reconciler.apply.review import check_saved, pin_key, read_saved
from reconciler.core.errors import PlanRefused, UsageError
from reconciler.core.models import AccessCodeId, DeviceId, DeviceKey
from reconciler.core.plan import Action, Change, CodeState, Drift, DriftKind, Plan, iso

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
TTL = timedelta(hours=24)
DOOR = DeviceKey("door")
LOCK = DeviceId("lock_door")


def change(action: Action, name: str, pin: str | None = None, **values: object) -> Change:
    """One change on the door lock; `pin` becomes the state it writes (or had, for a delete)."""
    state = CodeState(pin) if pin is not None else None
    before = state if action is Action.DELETE else None
    after = None if action is Action.DELETE else state
    return Change(action, DOOR, LOCK, name, before=before, after=after, **values)  # type: ignore[arg-type]


def saved(plan: Plan) -> dict[str, object]:
    """The plan as `plan --out` writes it (masked JSON), read back."""
    return json.loads(json.dumps(plan.to_data()))


# -- Plan -------------------------------------------------------------------------------------


def test_summary_counts_deferred_writes_apart_from_their_action() -> None:
    later = NOW + timedelta(hours=2)
    plan = Plan(
        now=NOW,
        changes=(
            change(Action.CREATE, "Now", "736194"),
            change(Action.CREATE, "Later", "482913", due_at=later),
            change(Action.DELETE, "Gone", "905172"),
            change(Action.NOOP, "Same", "618350"),
            change(Action.BLOCKED, "Refused", "274619"),
        ),
    )
    assert plan.summary == {
        "create": 1,
        "update": 0,
        "delete": 1,
        "noop": 1,
        "deferred": 1,
        "blocked": 1,
    }
    assert [c.name for c in plan.due()] == ["Now", "Gone"]
    assert plan.next_due == later


def test_a_write_due_exactly_now_is_due_and_the_earliest_deferred_is_next() -> None:
    soon, later = NOW + timedelta(minutes=5), NOW + timedelta(hours=5)
    plan = Plan(
        now=NOW,
        changes=(
            change(Action.CREATE, "Later", "736194", due_at=later),
            change(Action.CREATE, "At now", "482913", due_at=NOW),
            change(Action.CREATE, "Soon", "905172", due_at=soon),
            change(Action.BLOCKED, "Refused", due_at=NOW - timedelta(hours=1)),
        ),
    )
    assert [c.name for c in plan.due()] == ["At now"]
    assert plan.next_due == NOW  # a deferred write stays deferred in the summary until applied
    assert Plan(now=NOW, changes=plan.changes[:1] + plan.changes[2:]).next_due == soon
    assert Plan(now=NOW).next_due is None


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ((Action.NOOP,), False),
        ((Action.BLOCKED,), True),  # a refused code needs a person: exit 2
        ((Action.UPDATE,), True),
        ((Action.NOOP, Action.DELETE), True),
    ],
)
def test_has_changes(actions: tuple[Action, ...], expected: bool) -> None:
    plan = Plan(now=NOW, changes=tuple(change(a, f"Code {n}") for n, a in enumerate(actions)))
    assert plan.has_changes is expected


def test_has_changes_ignores_writes_not_yet_due() -> None:
    deferred = change(Action.CREATE, "Later", "736194", due_at=NOW + timedelta(minutes=1))
    assert Plan(now=NOW, changes=(deferred,)).has_changes is False


def test_plan_data_masks_every_pin_unless_asked() -> None:
    update = Change(
        Action.UPDATE,
        DOOR,
        LOCK,
        "Ann",
        access_code_id=AccessCodeId("ac_1"),
        before=CodeState("736194", status="set"),
        after=CodeState("482913", NOW, NOW + timedelta(days=1), offline=True, one_time_use=True),
        changed=("code",),
    )
    plan = Plan(now=NOW, changes=(update,))
    masked = json.dumps(plan.to_data())
    assert "736194" not in masked and "482913" not in masked
    (data,) = plan.to_data()["changes"]
    assert data["before"] == {
        "code": "****",
        "type": "ongoing",
        "starts_at": None,
        "ends_at": None,
        "status": "set",
    }
    assert data["after"] == {
        "code": "****",
        "type": "time_bound",
        "starts_at": "2026-11-23T15:00:00Z",
        "ends_at": "2026-11-24T15:00:00Z",
        "offline": True,
        "one_time_use": True,
    }
    shown = plan.to_data(show_codes=True)["changes"][0]
    assert (shown["before"]["code"], shown["after"]["code"]) == ("736194", "482913")
    for optional in ("occurrence", "guard", "renamed_from", "replaced_by", "due_since"):
        assert optional not in data


def test_optional_change_fields_appear_when_set() -> None:
    full = change(
        Action.DELETE,
        "Ann",
        "736194",
        occurrence=NOW,
        guard="its window is active now",
        renamed_from="Anne",
        replaced_by="Ann (new)",
        due_since=NOW - timedelta(minutes=30),
    ).to_data(show_codes=False)
    assert full["occurrence"] == "2026-11-23T15:00:00Z"
    assert full["guard"] == "its window is active now"
    assert (full["renamed_from"], full["replaced_by"]) == ("Anne", "Ann (new)")
    assert full["due_since"] == "2026-11-23T14:30:00Z"


def test_iso_writes_utc_with_a_z() -> None:
    paris = datetime(2026, 7, 1, 14, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert iso(paris) == "2026-07-01T12:00:00Z"
    assert iso(None) is None


def test_the_checksum_covers_changes_and_drift_and_pins_only_through_the_key() -> None:
    base = Plan(now=NOW, changes=(change(Action.CREATE, "Ann", "736194"),))
    other_pin = Plan(now=NOW, changes=(change(Action.CREATE, "Ann", "482913"),))
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", base.checksum)
    assert base.checksum == other_pin.checksum  # without a key a PIN does not count
    keyed = Plan(now=NOW, changes=base.changes, pin_key=b"secret")
    keyed_other = Plan(now=NOW, changes=other_pin.changes, pin_key=b"secret")
    assert keyed.checksum != keyed_other.checksum != base.checksum
    assert keyed.checksum != Plan(now=NOW, changes=base.changes, pin_key=b"other").checksum
    assert Plan(now=NOW + timedelta(hours=1), changes=base.changes).checksum == base.checksum
    drifted = Plan(
        now=NOW,
        changes=base.changes,
        drift=(Drift(DOOR, "Ann", DriftKind.MISSING, "gone from the lock"),),
    )
    assert drifted.checksum != base.checksum
    assert "736194" not in json.dumps(keyed.to_data())


# -- review.read_saved ------------------------------------------------------------------------


def test_read_saved_returns_a_plan_file(tmp_path: Path) -> None:
    plan = Plan(now=NOW, changes=(change(Action.CREATE, "Ann", "736194"),))
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan.to_data()))
    assert read_saved(path) == saved(plan)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read plan file {path}: No such file or directory"),
        ("{not json", "{path} is not a plan file (not JSON)"),
        ("[1]", "{path} is not a plan file of format_version 1"),
        ('{"format_version": 2, "checksum": "sha256:x"}', "is not a plan file of format_version 1"),
        ('{"format_version": 1}', "{path} has no checksum"),
        ('{"format_version": 1, "checksum": "md5:x"}', "{path} has no checksum"),
    ],
)
def test_read_saved_names_what_is_wrong(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match=re.escape(message.format(path=path))):
        read_saved(path)


# -- review.check_saved -----------------------------------------------------------------------


def test_a_saved_plan_exactly_plan_ttl_old_is_accepted_and_one_second_more_refused() -> None:
    reviewed = Plan(now=NOW, changes=(change(Action.CREATE, "Ann", "736194"),))
    check_saved(saved(reviewed), Plan(now=NOW + TTL, changes=reviewed.changes), ttl=TTL)
    late = Plan(now=NOW + TTL + timedelta(minutes=3), changes=reviewed.changes)
    with pytest.raises(PlanRefused) as refused:
        check_saved(saved(reviewed), late, ttl=TTL)
    assert str(refused.value) == (
        "the saved plan is 24.1 h old, older than settings.plan_ttl (24.0 h): "
        "plan again and review it"
    )


def test_a_deferred_change_falling_due_exactly_now_crosses_a_boundary() -> None:
    due = NOW + timedelta(hours=2)
    reviewed = Plan(now=NOW, changes=(change(Action.CREATE, "Guest", "736194", due_at=due),))
    before = Plan(now=due - timedelta(seconds=1), changes=reviewed.changes)
    check_saved(saved(reviewed), before, ttl=TTL)
    at_due = Plan(now=due, changes=reviewed.changes)
    with pytest.raises(PlanRefused) as refused:
        check_saved(saved(reviewed), at_due, ttl=TTL)
    assert str(refused.value) == (
        "a schedule boundary was crossed since the plan was saved "
        "(door / Guest fell due at 2026-11-23T17:00:00Z): plan again"
    )


def test_a_plan_that_moved_is_refused_naming_each_code_whose_action_changed() -> None:
    reviewed = Plan(
        now=NOW,
        changes=(change(Action.CREATE, "Ann", "736194"), change(Action.NOOP, "Ben", "482913")),
    )
    moved = Plan(
        now=NOW,
        changes=(change(Action.DELETE, "Ann", "736194"), change(Action.CREATE, "Cal", "905172")),
    )
    with pytest.raises(PlanRefused) as refused:
        check_saved(saved(reviewed), moved, ttl=TTL)
    assert str(refused.value) == (
        "the locks or the config changed since the plan was saved: the plan now differs from "
        "the reviewed one (door / Ann: action create -> delete; door / Ben: no longer planned; "
        "door / Cal: not in the reviewed plan); plan again"
    )


def test_a_moved_plan_names_at_most_five_codes_and_a_pin_change_alone_is_caught() -> None:
    reviewed = Plan(now=NOW, changes=(), pin_key=b"k")
    many = Plan(
        now=NOW, changes=tuple(change(Action.CREATE, f"Code {n}", "736194") for n in range(7))
    )
    with pytest.raises(PlanRefused) as refused:
        check_saved(saved(reviewed), many, ttl=TTL)
    assert str(refused.value).count(": not in the reviewed plan") == 5
    assert str(refused.value).endswith("; and 2 more); plan again")
    pinned = Plan(now=NOW, changes=(change(Action.CREATE, "Ann", "736194"),), pin_key=b"k")
    repinned = Plan(now=NOW, changes=(change(Action.CREATE, "Ann", "482913"),), pin_key=b"k")
    with pytest.raises(PlanRefused) as refused:
        check_saved(saved(pinned), repinned, ttl=TTL)
    assert str(refused.value) == (
        "the locks or the config changed since the plan was saved: the plan now differs from "
        "the reviewed one (the PIN changed: no field of the plan differs, only its checksum); "
        "plan again"
    )


# -- review.pin_key ---------------------------------------------------------------------------

KEY_VARIABLES = ("ACCESSCODES_PLAN_KEY", "SEAM_API_KEY", "ACCESSCODES_JOURNAL_KEY")


def test_pin_key_prefers_the_plan_key_then_seam_then_the_journal_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert pin_key(tmp_path) is None
    (tmp_path / "journal.key").write_bytes(b"from-file")
    assert pin_key(tmp_path) == b"from-file"
    monkeypatch.setenv("SEAM_API_KEY", "seam-key")
    assert pin_key(tmp_path) == b"seam-key"
    monkeypatch.setenv("ACCESSCODES_PLAN_KEY", "plan-key")
    assert pin_key(tmp_path) == b"plan-key"
    monkeypatch.setenv("ACCESSCODES_PLAN_KEY", "")  # empty: not a key
    assert pin_key(tmp_path) == b"seam-key"


def test_a_moved_plan_tells_occurrences_apart_and_a_one_off_turned_recurring() -> None:
    first, second = NOW + timedelta(days=1), NOW + timedelta(days=8)
    reviewed = Plan(
        now=NOW,
        changes=(
            change(Action.CREATE, "Cleaner", "736194", occurrence=first),
            change(Action.CREATE, "Cleaner", "736194", occurrence=second),
            change(Action.CREATE, "Tenant", "482913"),
        ),
    )
    moved = Plan(
        now=NOW,
        changes=(
            change(Action.CREATE, "Cleaner", "736194", occurrence=first),
            change(Action.NOOP, "Cleaner", "736194", occurrence=second),
            change(Action.CREATE, "Tenant", "482913", occurrence=first),
        ),
    )
    with pytest.raises(PlanRefused) as refused:
        check_saved(saved(reviewed), moved, ttl=TTL)
    assert str(refused.value) == (
        "the locks or the config changed since the plan was saved: the plan now differs from "
        "the reviewed one (door / Cleaner (2026-12-01T15:00:00Z): action create -> noop; "
        "door / Tenant: no longer planned; "
        "door / Tenant (2026-11-24T15:00:00Z): not in the reviewed plan); plan again"
    )


def test_plan_times_are_utc_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert iso(NOW) == "2026-11-23T15:00:00Z"
        data = Plan(now=NOW, changes=(change(Action.CREATE, "Ann", "736194", due_at=NOW),))
        assert data.to_data()["changes"][0]["due_at"] == "2026-11-23T15:00:00Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_saved_plan_without_changes_is_refused_not_a_crash() -> None:
    fresh = Plan(now=NOW, changes=(change(Action.CREATE, "Ann", "736194"),))
    bare = {"format_version": 1, "now": "2026-11-23T15:00:00Z", "checksum": "sha256:0"}
    with pytest.raises(PlanRefused) as refused:
        check_saved(bare, fresh, ttl=TTL)
    assert "(door / Ann: not in the reviewed plan)" in str(refused.value)
