"""A lock whose codes cannot be read blocks its own changes; the other locks are planned.

Issue #14: an empty or failed listing must never be read as "every code is missing" (creates
of codes already there) or "nothing is on the lock" (drift), and one bad lock must not stop a
fleet's plan.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import CliRunner
from seamfake import SeamFake

from reconciler.apply.inventory import read_live
from reconciler.core.errors import ProviderError, TemporaryProviderError
from reconciler.core.models import (
    CodeSpec,
    DesiredCode,
    DesiredDevice,
    Device,
    DeviceId,
    DeviceKey,
    LiveCode,
    Schedule,
)
from reconciler.core.plan import Action
from reconciler.core.settings import Settings
from reconciler.planning.planner import plan
from reconciler.planning.timeline import State, build_timeline
from reconciler.providers.sim import SimProvider

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
FRONT, BACK = DeviceId("lock_front"), DeviceId("lock_back")


class OneLockUnreadable:
    """The simulator, except that reading one lock's codes fails (a provider error, as a
    lock that times out on Seam gives)."""

    kind = "sim"

    def __init__(self, inner: SimProvider, unreadable: DeviceId, *, devices_fail: bool = False):
        self.inner = inner
        self.unreadable = unreadable
        self.devices_fail = devices_fail

    async def list_devices(self, device_ids: Sequence[DeviceId]) -> list[Device]:
        if self.devices_fail:
            raise TemporaryProviderError("the provider is down", code="http_503")
        return await self.inner.list_devices(device_ids)

    async def list_codes(self, device_id: DeviceId) -> list[LiveCode]:
        if device_id == self.unreadable:
            raise TemporaryProviderError(
                f"{device_id} timed out while listing code 482913", code="http_504"
            )
        return await self.inner.list_codes(device_id)

    async def create_code(self, device_id: DeviceId, spec: CodeSpec) -> LiveCode:
        return await self.inner.create_code(device_id, spec)

    async def update_code(self, code: LiveCode, spec: CodeSpec) -> None:
        await self.inner.update_code(code, spec)

    async def delete_code(self, code: LiveCode) -> None:
        await self.inner.delete_code(code)

    async def aclose(self) -> None:
        await self.inner.aclose()


def config() -> list[DesiredDevice]:
    def door(key: str, device_id: DeviceId) -> DesiredDevice:
        codes = (DesiredCode(DeviceKey(key), "Alice", "482913"),)
        return DesiredDevice(DeviceKey(key), device_id, codes=codes)

    return [door("front", FRONT), door("back", BACK)]


@pytest.fixture
def sim(tmp_path: Path) -> SimProvider:
    """Both locks already hold Alice's code."""
    provider = SimProvider(tmp_path / "sim.json", clock=lambda: NOW)
    for device_id in (FRONT, BACK):
        asyncio.run(provider.create_code(device_id, CodeSpec("Alice", "482913")))
    return provider


def test_a_lock_that_cannot_be_read_blocks_its_own_changes_and_the_others_proceed(
    sim: SimProvider,
) -> None:
    provider = OneLockUnreadable(sim, FRONT)
    wanted = config()
    wanted[1] = DesiredDevice(
        wanted[1].key, BACK, codes=(*wanted[1].codes, DesiredCode(DeviceKey("back"), "Bob"))
    )
    live = asyncio.run(read_live(provider, [FRONT, BACK], concurrency=2))
    assert live[FRONT].codes == () and live[FRONT].read_error is not None
    assert "482913" not in live[FRONT].read_error and "****" in live[FRONT].read_error

    result = plan(wanted, live, now=NOW, settings=Settings(prune=True))
    front = [c for c in result.changes if c.device == "front"]
    assert [(c.action, c.name) for c in front] == [(Action.BLOCKED, "Alice")]
    assert front[0].reasons[0].startswith("could not read the lock: lock_front timed out")
    assert not [d for d in result.drift if d.device == "front"]
    back = [(c.action, c.name) for c in result.changes if c.device == "back"]
    assert back == [(Action.CREATE, "Bob"), (Action.NOOP, "Alice")]


def test_an_unreadable_lock_blocks_every_occurrence_and_its_timeline_shows_none_due(
    sim: SimProvider,
) -> None:
    weekly = Schedule("0 10 * * TUE", timedelta(hours=4))
    cleaner = DesiredCode(DeviceKey("front"), "Cleaner", "639027", schedule=weekly)
    wanted = [DesiredDevice(DeviceKey("front"), FRONT, codes=(cleaner,))]
    live = asyncio.run(read_live(OneLockUnreadable(sim, FRONT), [FRONT], concurrency=1))
    result = plan(wanted, live, now=NOW, settings=Settings())
    assert {c.action for c in result.changes} == {Action.BLOCKED}
    assert [c.occurrence for c in result.changes] == [
        datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
    ]
    caps = {FRONT: live[FRONT].device.capabilities}
    (door,) = build_timeline(wanted, result, caps, Settings()).devices
    assert door.entries and {e.state for e in door.entries} == {State.BLOCKED}


def test_a_provider_that_cannot_list_devices_still_fails_the_whole_plan(
    sim: SimProvider,
) -> None:
    provider = OneLockUnreadable(sim, FRONT, devices_fail=True)
    with pytest.raises(ProviderError, match="the provider is down"):
        asyncio.run(read_live(provider, [FRONT, BACK], concurrency=2))


@pytest.fixture
def fake() -> Iterator[SeamFake]:
    with SeamFake() as server:
        yield server


def test_seam_locks_whose_codes_cannot_be_listed_are_blocked_not_recreated(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        "version: 1\nprovider: {kind: seam, retries: 0}\nsettings: {prune: true}\n"
        "devices:\n  front:\n    device_id: august_device_1\n    codes:\n"
        '      - {name: Alice, code: "482913"}\n'
    )
    assert cli("apply", "--auto-approve", env=fake.env).code == 0
    (alice,) = fake.list_codes("august_device_1", managed=True)
    fake.simulate_outage(["access_codes/unmanaged/list"])
    try:
        shown = cli("plan", "--format", "json", env=fake.env)
        applied = cli("apply", "--auto-approve", env=fake.env)
    finally:
        fake.clear_outage()
    assert shown.code == 0, shown.output
    (change,) = json.loads(shown.out)["changes"]
    assert change["action"] == "blocked"
    assert change["reasons"][0].startswith("could not read the lock: Seam access_codes/")
    assert json.loads(shown.out)["drift"] == []
    assert "created" not in applied.out and "deleted" not in applied.out, applied.output
    assert [c["access_code_id"] for c in fake.list_codes("august_device_1", managed=True)] == [
        alice["access_code_id"]
    ]
