"""The embedded simulator behaves like a lock fleet: profiles, refusals, expiry, atomic file."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.config.schema import SimDeviceConfig
from reconciler.core.errors import InvalidInputError, NotFoundError
from reconciler.core.models import CodeSpec, CodeStatus, DeviceId
from reconciler.providers.profiles import PROFILES, profile_for
from reconciler.providers.sim import SimProvider

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def sim(tmp_path: Path) -> SimProvider:
    fleet = {
        "ultra_no_zone": SimDeviceConfig(profile="ultraloq"),
        "nuki_1": SimDeviceConfig(profile="nuki"),
    }
    return SimProvider(tmp_path / "sim.json", fleet=fleet, clock=lambda: NOW)


def test_profiles_cover_the_seed_manufacturers() -> None:
    assert {"generic", "august", "ultraloq", "igloohome", "lockly", "dormakaba_oracode"} <= set(
        PROFILES
    )
    assert profile_for("august_device_1") == "august"
    assert profile_for("front") == "generic"
    assert profile_for("front", "lockly") == "lockly"


def test_devices_appear_on_first_use_without_writing(sim: SimProvider) -> None:
    (device,) = run(sim.list_devices([DeviceId("august_device_1")]))
    assert device.capabilities.manufacturer == "august"
    assert not sim.state_file.exists()


def test_a_created_code_is_listed_and_persisted(sim: SimProvider) -> None:
    created = run(sim.create_code(DeviceId("lock_a"), CodeSpec("Alice", "482913")))
    again = SimProvider(sim.state_file, clock=lambda: NOW)
    (listed,) = run(again.list_codes(DeviceId("lock_a")))
    assert listed == created and listed.status is CodeStatus.SET
    assert json.loads(sim.state_file.read_text())["version"] == 1
    assert not list(sim.state_file.parent.glob(".sim.*.tmp"))


def test_a_time_bound_code_is_unset_before_its_window_and_gone_after(sim: SimProvider) -> None:
    start = NOW + timedelta(hours=1)
    spec = CodeSpec("Bob", "736194", starts_at=start, ends_at=start + timedelta(hours=2))
    assert run(sim.create_code(DeviceId("lock_a"), spec)).status is CodeStatus.UNSET
    sim.clock = lambda: start + timedelta(hours=1)
    assert run(sim.list_codes(DeviceId("lock_a")))[0].status is CodeStatus.SET
    sim.clock = lambda: start + timedelta(hours=3)
    assert run(sim.list_codes(DeviceId("lock_a"))) == []


def test_the_lock_refuses_a_duplicate_pin(sim: SimProvider) -> None:
    run(sim.create_code(DeviceId("lock_a"), CodeSpec("Alice", "482913")))
    with pytest.raises(InvalidInputError) as caught:
        run(sim.create_code(DeviceId("lock_a"), CodeSpec("Eve", "482913")))
    assert caught.value.code == "duplicate_access_code"
    assert "482913" not in str(caught.value)


def test_the_lock_refuses_what_its_profile_forbids(sim: SimProvider) -> None:
    with pytest.raises(InvalidInputError, match=r"PIN must not contain 0 \(no_zeros\)"):
        run(sim.create_code(DeviceId("nuki_1"), CodeSpec("Alice", "102938")))  # has a zero
    start = NOW + timedelta(days=1)
    timed = CodeSpec("Bob", "736194", starts_at=start, ends_at=start + timedelta(days=1))
    with pytest.raises(InvalidInputError, match="Time zone required"):
        run(sim.create_code(DeviceId("ultra_no_zone"), timed))


def test_a_generated_pin_fits_the_lock(sim: SimProvider) -> None:
    created = run(sim.create_code(DeviceId("nuki_1"), CodeSpec("Alice", None)))
    assert created.code and len(created.code) == 6 and "0" not in created.code
    assert not created.code.startswith("12")


def test_updating_and_deleting_a_vanished_code_says_not_found(sim: SimProvider) -> None:
    created = run(sim.create_code(DeviceId("lock_a"), CodeSpec("Alice", "482913")))
    run(sim.delete_code(created))
    with pytest.raises(NotFoundError, match=f"access code {created.access_code_id} not found"):
        run(sim.delete_code(created))
    with pytest.raises(NotFoundError, match=f"access code {created.access_code_id} not found"):
        run(sim.update_code(created, CodeSpec("Alice", "905172")))


def test_reads_parse_the_fleet_once_and_see_another_process_change_it(
    sim: SimProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = DeviceId("nuki_1")
    run(sim.create_code(lock, CodeSpec("Alice", "482913")))
    parses = []
    real_load = SimProvider._load
    monkeypatch.setattr(SimProvider, "_load", lambda self: parses.append(1) or real_load(self))
    for _ in range(50):  # a plan lists every lock: one parse, not one per lock
        assert [c.name for c in run(sim.list_codes(lock))] == ["Alice"]
    assert len(parses) == 1
    other = SimProvider(tmp_path / "sim.json", clock=lambda: NOW)  # `sim tamper`, elsewhere
    run(other.create_code(lock, CodeSpec("Bob", "915172")))
    assert sorted(c.name for c in run(sim.list_codes(lock))) == ["Alice", "Bob"]
