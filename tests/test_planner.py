"""The planner on plain values: one scenario per test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.core.models import (
    AccessCodeId,
    Capabilities,
    CodeConstraint,
    DesiredCode,
    DesiredDevice,
    Device,
    DeviceId,
    DeviceKey,
    LiveCode,
    LiveDevice,
    ProviderIssue,
)
from reconciler.core.plan import Action, DriftKind
from reconciler.core.settings import Settings
from reconciler.planning.planner import plan

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
DOOR = DeviceKey("front-door")
LOCK = DeviceId("lock_1")


def desired(*codes: DesiredCode, timezone: str | None = None) -> list[DesiredDevice]:
    return [DesiredDevice(DOOR, LOCK, codes=codes, timezone=timezone)]


def code(name: str, pin: str | None = None, **kw: object) -> DesiredCode:
    return DesiredCode(device=DOOR, name=name, code=pin, **kw)  # type: ignore[arg-type]


def live(*codes: LiveCode, unmanaged: tuple[LiveCode, ...] = (), caps: Capabilities | None = None):
    device = Device(LOCK, "Front", caps or Capabilities(native_scheduling=True))
    return {LOCK: LiveDevice(device, codes=codes, unmanaged=unmanaged)}


def on_lock(name: str, pin: str | None, n: int = 1, managed: bool = True, **kw: object) -> LiveCode:
    return LiveCode(AccessCodeId(f"ac_{n}"), LOCK, name, pin, is_managed=managed, **kw)  # type: ignore[arg-type]


def actions(result) -> list[tuple[str, str]]:
    return [(str(c.action), c.name) for c in result.changes]


def test_a_missing_code_is_created() -> None:
    result = plan(desired(code("Alice", "482913")), live(), now=NOW, settings=Settings())
    assert actions(result) == [("create", "Alice")]
    assert result.changes[0].reasons == ("missing on device",)
    assert result.summary["create"] == 1


def test_a_matching_code_is_a_noop() -> None:
    result = plan(
        desired(code("Alice", "482913")),
        live(on_lock("Alice", "482913")),
        now=NOW,
        settings=Settings(),
    )
    assert actions(result) == [("noop", "Alice")]
    assert not result.has_changes


def test_a_changed_pin_is_an_update_naming_the_field() -> None:
    result = plan(
        desired(code("Alice", "482913")),
        live(on_lock("Alice", "739164")),
        now=NOW,
        settings=Settings(),
    )
    (change,) = result.changes
    assert change.action is Action.UPDATE and change.changed == ("code",)
    assert change.access_code_id == "ac_1"


def test_a_generated_pin_is_satisfied_by_any_live_pin() -> None:
    result = plan(
        desired(code("Alice")), live(on_lock("Alice", "555123")), now=NOW, settings=Settings()
    )
    assert actions(result) == [("noop", "Alice")]


def test_an_unreadable_live_pin_is_not_drift() -> None:
    result = plan(
        desired(code("Alice", "482913")), live(on_lock("Alice", None)), now=NOW, settings=Settings()
    )
    assert actions(result) == [("noop", "Alice")]


def test_unmanaged_codes_are_reported_and_never_touched() -> None:
    result = plan(
        desired(),
        live(unmanaged=(on_lock("Landlord", "111999", 9, managed=False),)),
        now=NOW,
        settings=Settings(prune=True),
    )
    assert result.changes == ()
    assert [(d.name, d.kind) for d in result.drift] == [("Landlord", DriftKind.UNMANAGED_CODE)]


def test_a_managed_code_missing_from_config_stays_without_prune() -> None:
    result = plan(desired(), live(on_lock("Old guest", "264819")), now=NOW, settings=Settings())
    assert result.changes == ()
    assert [d.kind for d in result.drift] == [DriftKind.EXTRANEOUS]


def test_a_managed_code_missing_from_config_is_deleted_with_prune() -> None:
    result = plan(
        desired(), live(on_lock("Old guest", "264819")), now=NOW, settings=Settings(prune=True)
    )
    assert actions(result) == [("delete", "Old guest")]


def test_a_pin_the_lock_cannot_take_is_blocked_with_the_config_line() -> None:
    from reconciler.core.models import SourceRef

    caps = Capabilities(
        supported_code_lengths=(6,), code_constraints=(CodeConstraint("no_all_same_digits"),)
    )
    wanted = DesiredCode(DOOR, "Alice", "1111", source=SourceRef("a.yaml", 7, 9))
    result = plan(desired(wanted), live(caps=caps), now=NOW, settings=Settings())
    (change,) = result.changes
    assert change.action is Action.BLOCKED
    assert str(change.source) == "a.yaml:7:9"
    assert any("6 digits" in r for r in change.reasons)
    assert any("no_all_same_digits" in r for r in change.reasons)
    assert result.has_changes


def test_a_device_the_provider_does_not_know_blocks_its_codes() -> None:
    result = plan(desired(code("Alice", "482913")), {}, now=NOW, settings=Settings())
    assert actions(result) == [("blocked", "Alice")]
    assert "not found" in result.changes[0].reasons[0]


def test_a_guest_far_ahead_is_deferred_until_the_lead_time() -> None:
    start = datetime(2026, 12, 2, 15, 0)  # naive: New York time
    guest = code("Bob", "736194", starts_at=start, ends_at=start + timedelta(days=3))
    caps = Capabilities(native_scheduling=False)
    result = plan(
        desired(guest, timezone="America/New_York"), live(caps=caps), now=NOW, settings=Settings()
    )
    (change,) = result.changes
    assert change.due_at == datetime(2026, 12, 2, 19, 30, tzinfo=UTC)
    assert result.summary["deferred"] == 1 and result.summary["create"] == 0
    assert not result.due()


def test_a_code_whose_window_has_ended_is_not_created_and_is_removed() -> None:
    start = NOW - timedelta(days=3)
    guest = code("Bob", "736194", starts_at=start, ends_at=NOW - timedelta(hours=1))
    assert plan(desired(guest), live(), now=NOW, settings=Settings()).changes == ()
    still_there = on_lock("Bob", "736194", starts_at=start, ends_at=NOW - timedelta(hours=1))
    result = plan(desired(guest), live(still_there), now=NOW, settings=Settings())
    assert actions(result) == [("delete", "Bob")]


def test_a_changed_window_on_an_offline_code_is_blocked() -> None:
    start = NOW + timedelta(days=1)
    wanted = code("Parcel", offline=True, starts_at=start, ends_at=start + timedelta(days=2))
    issued = on_lock(
        "Parcel", "93716254", is_offline=True, starts_at=start, ends_at=start + timedelta(days=1)
    )
    caps = Capabilities(offline_codes=True)
    result = plan(desired(wanted), live(issued, caps=caps), now=NOW, settings=Settings())
    (change,) = result.changes
    assert change.action is Action.BLOCKED and change.changed == ("ends_at",)


def test_vendor_app_disable_and_failures_are_drift() -> None:
    disabled = on_lock(
        "Alice", "482913", warnings=(ProviderIssue("ultraloq_access_code_disabled"),)
    )
    failed = on_lock("Bob", "736194", 2, errors=(ProviderIssue("failed_to_set_on_device"),))
    result = plan(
        desired(code("Alice", "482913"), code("Bob", "736194")),
        live(disabled, failed),
        now=NOW,
        settings=Settings(),
    )
    kinds = {(d.name, d.kind) for d in result.drift}
    assert kinds == {("Alice", DriftKind.DISABLED_IN_VENDOR_APP), ("Bob", DriftKind.FAILED_TO_SET)}


def test_deletes_go_first_when_the_lock_is_full() -> None:
    caps = Capabilities(max_active_codes=1)
    result = plan(
        desired(code("New", "736194")),
        live(on_lock("Old", "264819"), caps=caps),
        now=NOW,
        settings=Settings(prune=True),
    )
    assert actions(result) == [("delete", "Old"), ("create", "New")]


def test_creates_go_first_when_there_is_room() -> None:
    result = plan(
        desired(code("New", "736194")),
        live(on_lock("Old", "264819")),
        now=NOW,
        settings=Settings(prune=True),
    )
    assert actions(result) == [("create", "New"), ("delete", "Old")]


def test_the_plan_data_never_holds_a_pin_unless_asked() -> None:
    result = plan(
        desired(code("Alice", "482913")),
        live(on_lock("Alice", "739164")),
        now=NOW,
        settings=Settings(),
    )
    assert "482913" not in str(result.to_data()) and "739164" not in str(result.to_data())
    assert "482913" in str(result.to_data(show_codes=True))
    assert "482913" not in repr(result)


def test_next_due_is_the_earliest_deferred_change() -> None:
    first = datetime(2026, 12, 2, 15, 0)
    guests = [
        code(
            f"Guest {i}",
            f"73619{i}",
            starts_at=first + timedelta(days=i),
            ends_at=first + timedelta(days=i + 1),
        )
        for i in range(3)
    ]
    result = plan(desired(*guests), live(caps=Capabilities()), now=NOW, settings=Settings())
    assert result.next_due == datetime(2026, 12, 2, 14, 30, tzinfo=UTC)
    assert plan(desired(), live(), now=NOW, settings=Settings()).next_due is None


def test_a_code_the_lock_refused_as_a_duplicate_is_not_sent_again() -> None:
    refused = on_lock(
        "Alice", "482913", errors=(ProviderIssue("duplicate_code_on_device", "same PIN"),)
    )
    result = plan(desired(code("Alice", "482913")), live(refused), now=NOW, settings=Settings())
    assert actions(result) == [("noop", "Alice")]
    assert [(d.kind, d.detail) for d in result.drift] == [
        (DriftKind.FAILED_TO_SET, "duplicate_code_on_device: same PIN")
    ]


def test_a_code_the_lock_failed_to_set_is_sent_again() -> None:
    for error in ("failed_to_set_on_device", "no_space_for_access_code_on_device"):
        failed = on_lock("Alice", "482913", errors=(ProviderIssue(error),))
        result = plan(desired(code("Alice", "482913")), live(failed), now=NOW, settings=Settings())
        (change,) = result.changes
        assert (change.action, change.changed) == (Action.UPDATE, ("status",))


UNIQUE_NAMES = Capabilities(code_constraints=(CodeConstraint("name_must_be_unique"),))


def test_a_create_whose_name_another_code_on_the_lock_has_is_blocked() -> None:
    landlord = on_lock("Landlord", "111999", 9, managed=False)
    result = plan(
        desired(code("Landlord", "482913")),
        live(unmanaged=(landlord,), caps=UNIQUE_NAMES),
        now=NOW,
        settings=Settings(),
    )
    (change,) = result.changes
    assert change.action is Action.BLOCKED
    assert change.reasons == ("another code on this lock has the same name",)


def test_a_rename_onto_a_name_another_code_on_the_lock_has_is_blocked() -> None:
    landlord = on_lock("Landlord", "111999", 9, managed=False)
    result = plan(
        desired(code("Landlord", "482913")),
        live(on_lock("Alice", "482913"), unmanaged=(landlord,), caps=UNIQUE_NAMES),
        now=NOW,
        settings=Settings(prune=True),
    )
    (change,) = result.changes
    assert (change.action, change.access_code_id) == (Action.BLOCKED, "ac_1")
    assert change.reasons == ("another code on this lock has the same name",)


def test_a_unique_name_lock_takes_a_rename_and_the_next_occurrence_of_a_recurring_code() -> None:
    from reconciler.core.models import Schedule

    weekly = code("Cleaner", "639027", schedule=Schedule("0 10 * * TUE", timedelta(hours=4)))
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    current = on_lock("Cleaner", "639027", 1, starts_at=start, ends_at=start + timedelta(hours=4))
    result = plan(
        desired(weekly, code("Alice Smith", "482913")),
        live(current, on_lock("Alice", "482913", 2), caps=UNIQUE_NAMES),
        now=NOW + timedelta(hours=20),
        settings=Settings(),
    )
    assert Action.BLOCKED not in {c.action for c in result.changes}
    assert [c.renamed_from for c in result.changes if c.action is Action.UPDATE] == ["Alice"]
