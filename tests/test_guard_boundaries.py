"""The delete guards and lead times on their exact boundaries, in-process (issue #14, item 11).

The same boundaries as tests/test_guards.py (which drives the CLI), on plain objects, so that
mutation testing (docs/quality.md), which only sees code run in the test's own process, kills a
mutant that moves one: `Plan.refusals` at N and N + 1 deletes, overall and per lock; the
planner keeping a `protected: true` code whose window has ended; `schedule.lead_time` choosing
`jit_lead` for `prefer_native_scheduling: false` on a lock that schedules natively.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

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
from reconciler.core.plan import Action, Change, Plan
from reconciler.core.settings import Settings
from reconciler.planning.planner import plan
from reconciler.planning.schedule import lead_time

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

# -- Plan.refusals on plain changes -----------------------------------------------------------


def deletes(*devices: str, due_at: datetime | None = None) -> tuple[Change, ...]:
    """One delete per device key named (a key named twice: two deletes on that lock)."""
    return tuple(
        Change(
            Action.DELETE,
            DeviceKey(device),
            DeviceId(f"lock_{device}"),
            f"Code {n}",
            access_code_id=AccessCodeId(f"ac_{n}"),
            due_at=due_at,
        )
        for n, device in enumerate(devices)
    )


@pytest.mark.parametrize("limit", [0, 1, 2, 5])
def test_max_deletes_boundary(limit: int) -> None:
    at_limit = Plan(now=NOW, changes=deletes(*["door"] * limit))
    over = Plan(now=NOW, changes=deletes(*["door"] * (limit + 1)))
    assert at_limit.refusals(max_deletes=limit) == []
    assert over.refusals(max_deletes=limit) == [
        f"the plan deletes {limit + 1} codes, more than settings.max_deletes ({limit})"
    ]


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_max_deletes_per_device_boundary(limit: int) -> None:
    at_limit = Plan(now=NOW, changes=deletes(*["door"] * limit))
    over = Plan(now=NOW, changes=deletes(*["door"] * (limit + 1), "back"))
    spread = Plan(now=NOW, changes=deletes(*["door"] * limit, "back"))
    assert at_limit.refusals(max_deletes=10, max_deletes_per_device=limit) == []
    assert over.refusals(max_deletes=10, max_deletes_per_device=limit) == [
        f"the plan deletes {limit + 1} codes on door, more than "
        f"settings.max_deletes_per_device ({limit})"
    ]
    assert spread.refusals(max_deletes=10, max_deletes_per_device=limit) == []


def test_every_lock_over_its_limit_is_named_in_order() -> None:
    over = Plan(now=NOW, changes=deletes("front", "back", "front", "back", "back"))
    assert over.refusals(max_deletes=10, max_deletes_per_device=1) == [
        "the plan deletes 3 codes on back, more than settings.max_deletes_per_device (1)",
        "the plan deletes 2 codes on front, more than settings.max_deletes_per_device (1)",
    ]


def test_both_limits_report_together() -> None:
    over = Plan(now=NOW, changes=deletes("door", "door", "door"))
    assert over.refusals(max_deletes=2, max_deletes_per_device=2) == [
        "the plan deletes 3 codes, more than settings.max_deletes (2)",
        "the plan deletes 3 codes on door, more than settings.max_deletes_per_device (2)",
    ]


def test_without_a_per_device_limit_only_the_total_counts() -> None:
    many = Plan(now=NOW, changes=deletes(*["door"] * 10))
    assert many.refusals(max_deletes=10) == []
    assert many.refusals(max_deletes=10, max_deletes_per_device=None) == []


def test_deferred_deletes_and_other_writes_do_not_count() -> None:
    later = NOW + timedelta(hours=1)
    create = Change(Action.CREATE, DeviceKey("door"), DeviceId("lock_door"), "New")
    mixed = Plan(
        now=NOW, changes=(*deletes("door", "door"), create, *deletes("door", due_at=later))
    )
    assert mixed.refusals(max_deletes=2, max_deletes_per_device=2) == []
    due_now = Plan(now=later, changes=mixed.changes)
    assert len(due_now.refusals(max_deletes=2, max_deletes_per_device=2)) == 2


def test_a_guarded_change_is_refused_with_its_device_and_name() -> None:
    guarded = replace(deletes("door")[0], guard="its window is active now")
    assert Plan(now=NOW, changes=(guarded,)).refusals(max_deletes=10) == [
        "door / Code 0: its window is active now"
    ]
    deferred = replace(guarded, due_at=NOW + timedelta(minutes=1))
    assert Plan(now=NOW, changes=(deferred,)).refusals(max_deletes=10) == []


# -- the planner: protected codes whose window has ended --------------------------------------

DOOR = DeviceKey("door")
LOCK = DeviceId("lock_door")
NATIVE = Capabilities(native_scheduling=True)


def ended_stay(name: str, pin: str, **flags: bool) -> tuple[DesiredCode, LiveCode]:
    """A guest whose window ended an hour ago, in the config and still on the lock."""
    start, end = NOW - timedelta(days=3), NOW - timedelta(hours=1)
    desired = DesiredCode(DOOR, name, pin, starts_at=start, ends_at=end, **flags)
    live = LiveCode(AccessCodeId(f"ac_{name}"), LOCK, name, pin, starts_at=start, ends_at=end)
    return desired, live


def plan_ended(*stays: tuple[DesiredCode, LiveCode], prune: bool = False) -> Plan:
    """Plan the stays on one native lock at NOW."""
    device = DesiredDevice(DOOR, LOCK, codes=tuple(d for d, _ in stays))
    live = LiveDevice(Device(LOCK, "Door", NATIVE), codes=tuple(lc for _, lc in stays))
    return plan([device], {LOCK: live}, now=NOW, settings=Settings(prune=prune))


def test_a_protected_code_whose_window_has_ended_is_never_deleted() -> None:
    result = plan_ended(
        ended_stay("Owner", "736194", protected=True), ended_stay("Guest", "482913")
    )
    assert [(c.action, c.name, c.reasons) for c in result.changes] == [
        (Action.DELETE, "Guest", ("its window has ended",))
    ]
    assert result.changes[0].access_code_id == "ac_Guest"


def test_a_protected_ended_code_stays_with_prune_on_and_nothing_to_refuse() -> None:
    result = plan_ended(ended_stay("Owner", "736194", protected=True), prune=True)
    assert result.changes == ()
    assert result.refusals(max_deletes=0, max_deletes_per_device=0) == []


# -- schedule.lead_time -----------------------------------------------------------------------

LEADS = Settings(native_lead=timedelta(hours=50), jit_lead=timedelta(minutes=7))


@pytest.mark.parametrize(
    ("native", "prefer", "expected"),
    [
        (True, None, timedelta(hours=50)),
        (True, True, timedelta(hours=50)),
        (True, False, timedelta(minutes=7)),
        (False, None, timedelta(minutes=7)),
        (False, True, timedelta(minutes=7)),
        (False, False, timedelta(minutes=7)),
    ],
)
def test_lead_time_follows_the_lock_and_the_code(
    native: bool, prefer: bool | None, expected: timedelta
) -> None:
    code = DesiredCode(DOOR, "Guest", "736194", prefer_native_scheduling=prefer)
    assert lead_time(code, Capabilities(native_scheduling=native), LEADS) == expected


def test_prefer_native_scheduling_false_on_a_native_lock_plans_jit_lead_ahead() -> None:
    start = NOW + timedelta(days=9)
    codes = (
        DesiredCode(
            DOOR,
            "Guest",
            "736194",
            starts_at=start,
            ends_at=start + timedelta(days=2),
            prefer_native_scheduling=False,
        ),
        DesiredCode(DOOR, "Owner", "482913", starts_at=start, ends_at=start + timedelta(days=2)),
    )
    live = LiveDevice(Device(LOCK, "Door", NATIVE))
    result = plan(
        [DesiredDevice(DOOR, LOCK, codes=codes)], {LOCK: live}, now=NOW, settings=Settings()
    )
    due = {c.name: c.due_at for c in result.changes}
    assert due == {"Guest": start - timedelta(minutes=30), "Owner": start - timedelta(hours=72)}
