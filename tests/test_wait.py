"""Verified apply: `--wait` until the locks hold the codes; failures to set fail the apply."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conftest import CliRunner
from seamfake import SeamFake

from reconciler.apply.applier import Outcome, OutcomeState
from reconciler.apply.run import apply_run, plan_run
from reconciler.apply.verify import CodeCheck, accepted, wait_until_set
from reconciler.config.load import load_config
from reconciler.core.models import DeviceId, DeviceKey, LiveCode
from reconciler.core.plan import Action, Change
from reconciler.providers import make_provider
from reconciler.providers.base import Provider

CONFIG = """\
version: 1
provider:
  kind: sim
  fleet:
    slow_lock: {{profile: august, programming_delay: {delay}}}
    broken_lock: {{profile: august, fails_to_set: true}}
devices:
  door:
    device_id: {device}
    codes:
      - {{name: Alice, code: "482913"}}
"""


def write(tmp_path: Path, device: str, delay: str = "1s") -> None:
    (tmp_path / "accesscodes.yaml").write_text(CONFIG.format(device=device, delay=delay))


def test_without_wait_a_code_being_programmed_is_progressing(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path, "slow_lock", delay="1h")
    result = cli("apply", "--auto-approve")
    assert result.code == 0, result.output
    assert "door / Alice: progressing (setting: the lock is being programmed)" in result.out


def test_wait_returns_once_the_lock_holds_the_code(cli: CliRunner, tmp_path: Path) -> None:
    write(tmp_path, "slow_lock", delay="2s")
    result = cli("apply", "--auto-approve", "--wait=20s")
    assert result.code == 0, result.output
    assert "door / Alice: set (set)" in result.out


def test_wait_fails_on_a_code_still_setting_at_the_end(cli: CliRunner, tmp_path: Path) -> None:
    write(tmp_path, "slow_lock", delay="1h")
    result = cli("apply", "--auto-approve", "--wait=2s")
    assert result.code == 1
    assert "door / Alice: failed (still setting when the wait ended) [stuck_setting]" in result.out


def test_a_failure_to_set_fails_the_apply_with_or_without_wait(
    cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path, "broken_lock")
    result = cli("apply", "--auto-approve")
    assert result.code == 1
    assert "[failed_to_set_on_device]" in result.out
    (tmp_path / ".accesscodes" / "sim.json").unlink()
    waited = cli("apply", "--auto-approve", "--wait=5s")
    assert waited.code == 1 and "[failed_to_set_on_device]" in waited.out


def test_on_seams_fake_codes_stay_setting(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        "version: 1\nprovider: {kind: seam}\ndevices:\n  door:\n    device_id: august_device_1\n"
        '    codes:\n      - {name: Alice, code: "482913"}\n'
    )
    with SeamFake() as fake:
        result = cli("apply", "--auto-approve", env=fake.env)
        assert result.code == 0 and "door / Alice: progressing" in result.out
        (code,) = fake.list_codes("august_device_1", managed=True)
        fake.set_code_status(code["access_code_id"], "set")
        assert cli("plan", "--detailed-exitcode", env=fake.env).code == 0


def four_slow_locks() -> str:
    """Four simulated locks that take an hour to program a code, one code on each."""
    fleet = "".join(f"    lock_{i}: {{profile: august, programming_delay: 1h}}\n" for i in range(4))
    devices = "".join(
        f'  door_{i}:\n    device_id: lock_{i}\n    codes: [{{name: Alice, code: "48291{i}"}}]\n'
        for i in range(4)
    )
    return f"version: 1\nprovider:\n  kind: sim\n  fleet:\n{fleet}devices:\n{devices}"


class SlowListing:
    """The simulator, but listing a lock's codes takes `delay` seconds (a slow lock or API);
    counts how many listings run at once."""

    def __init__(self, inner: Provider, delay: float) -> None:
        self.inner = inner
        self.delay = delay
        self.kind = inner.kind
        self.running = 0
        self.most_at_once = 0

    async def list_codes(self, device_id: DeviceId) -> list[LiveCode]:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.delay)
            return await self.inner.list_codes(device_id)
        finally:
            self.running -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_wait_keeps_its_deadline_however_slow_the_listings(tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(four_slow_locks())
    config = load_config(tmp_path / "accesscodes.yaml")
    provider = make_provider(config, clock=lambda: datetime.now(UTC))

    async def apply_then_wait() -> tuple[list[CodeCheck], float, SlowListing]:
        planned = await plan_run(config, provider, now=datetime.now(UTC))
        report = await apply_run(config, provider, planned)
        assert len(report.outcomes) == 4 and not report.failed
        slow = SlowListing(provider, delay=0.4)
        started = time.monotonic()
        checks = await wait_until_set(
            slow,
            report.outcomes,
            timeout=1.0,
            clock=lambda: datetime.now(UTC),
            sleep=asyncio.sleep,
            poll=0.2,
        )
        return checks, time.monotonic() - started, slow

    checks, elapsed, slow = asyncio.run(apply_then_wait())
    assert elapsed < 1.5  # one by one, each round took 1.6 s and the wait ran to ~9 s
    assert slow.most_at_once == 4  # the four locks were listed at the same time
    assert [c.state for c in checks] == ["failed"] * 4
    assert {c.detail for c in checks} == {"still setting when the wait ended"}


def test_a_pending_write_is_progressing_not_set() -> None:
    change = Change(Action.UPDATE, DeviceKey("door"), DeviceId("lock_1"), "Alice")
    pending = Outcome(
        change, OutcomeState.PENDING, "Seam is still updating it", access_code_id="a1"
    )
    (check,) = accepted([pending])
    assert (check.state, check.detail) == ("progressing", "the provider is still writing it")
