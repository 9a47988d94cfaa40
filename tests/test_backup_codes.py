"""Backup codes (issue 16, item 5): with `settings.backup_codes`, codes go on locks with a backup
pool with the pool on, and a stay whose code fails to set near check-in gets one backup code,
told masked (unless --show-codes), recorded in the journal by id, and never pulled twice; an
empty pool is told once and not asked again.

On the simulator through the real CLI, and on Seam's fake over HTTP (behind tests/seamproxy.py
where the fake cannot fail a create by itself). Times are real (the controller has no --now).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import CliRunner
from seamfake import SeamFake
from seamproxy import Answer, SeamProxy

from reconciler.apply.applier import ApplyReport
from reconciler.apply.backup import BackupPull, PullState
from reconciler.apply.run import apply_run, open_journal, plan_run
from reconciler.config.load import load_config
from reconciler.controller.reconcile import apply_changes
from reconciler.core.errors import InvalidInputError
from reconciler.core.models import AccessCodeId, CodeSpec, DeviceId
from reconciler.core.plan import Action
from reconciler.providers import make_provider, tamper_simulator
from reconciler.providers.seam import SeamProvider
from reconciler.providers.seam_client import RetryPolicy, SeamClient
from reconciler.providers.sim import BACKUP_POOL_SIZE, SimProvider

PULL = "/access_codes/pull_backup_access_code"
FRONT = "august_device_1"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
SOON = NOW + timedelta(minutes=10)  # within jit_lead (30 min) of check-in
LATER = NOW + timedelta(days=2)  # on the lock already (72 h native lead), check-in far off
LEAVES = NOW + timedelta(days=4)


def stay(name: str, pin: str, starts: datetime) -> str:
    return (
        f'      - {{name: "{name}", code: "{pin}", '
        f"starts_at: {starts.isoformat()}, ends_at: {LEAVES.isoformat()}}}\n"
    )


def sim_config(*stays: str, backup: bool = True, fails: bool = True) -> str:
    head = textwrap.dedent(f"""\
        version: 1
        provider:
          kind: sim
          fleet:
            lock_1: {{fails_to_set: {str(fails).lower()}}}
        settings: {{backup_codes: {str(backup).lower()}}}
        devices:
          door:
            device_id: lock_1
            codes:
              - {{name: Ann, code: "736194"}}
        """)
    return head + "".join(stays)


def sim_lock(folder: Path) -> dict[str, Any]:
    state = json.loads((folder / ".accesscodes" / "sim.json").read_text())
    return state["devices"]["lock_1"]  # type: ignore[no-any-return]


def backup_codes_on(lock: dict[str, Any]) -> dict[str, str]:
    return {c["access_code_id"]: c["code"] for c in lock["codes"] if c.get("is_backup")}


def journal_pulls(folder: Path) -> list[tuple[str, ...]]:
    db = sqlite3.connect(folder / ".accesscodes" / "state.db")
    try:
        rows = db.execute(
            "SELECT name, outcome, access_code_id, backup_access_code_id FROM backup_pulls "
            "ORDER BY name"
        )
        return [tuple(row) for row in rows]
    finally:
        db.close()


def state_bytes(folder: Path) -> bytes:
    """The journal's files as stored (the database and its WAL), to look for a PIN in."""
    files = sorted((folder / ".accesscodes").glob("state.db*"))
    return b"".join(f.read_bytes() for f in files)


def backup_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("Backup: ")]


def apply_in_process(folder: Path) -> ApplyReport:
    """Another apply, through `plan_run` and `apply_run` as `accesscodes apply` calls them."""
    config = load_config(folder / "accesscodes.yaml")
    provider = make_provider(config, clock=lambda: datetime.now(UTC))
    journal = open_journal(config, create=True)
    assert journal is not None

    async def run() -> ApplyReport:
        try:
            planned = await plan_run(config, provider, now=datetime.now(UTC), journal=journal)
            return await apply_run(
                config, provider, planned, journal=journal, clock=lambda: datetime.now(UTC)
            )
        finally:
            await provider.aclose()
            journal.close()

    return asyncio.run(run())


# -- the simulator, through the CLI -----------------------------------------------------------


@pytest.mark.parametrize("backup", [True, False])
def test_stays_are_created_with_the_pool_on_only_when_backup_codes_is_on(
    cli: CliRunner, tmp_path: Path, backup: bool
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        sim_config(stay("Guest", "905172", SOON), backup=backup, fails=False)
    )
    config = load_config(tmp_path / "accesscodes.yaml")
    provider = make_provider(config, clock=lambda: datetime.now(UTC))
    planned = asyncio.run(plan_run(config, provider, now=datetime.now(UTC)))
    specs = {c.name: c.spec for c in planned.plan.changes if c.action is Action.CREATE}
    assert specs["Guest"] is not None and specs["Guest"].use_backup_pool is backup
    assert specs["Ann"] is not None and specs["Ann"].use_backup_pool is False  # ongoing: never

    result = cli("apply", "--auto-approve")
    assert result.code == 0, result.output
    lock = sim_lock(tmp_path)
    assert len(lock.get("backup_pool", [])) == (BACKUP_POOL_SIZE if backup else 0)
    assert ("backup_pool" in lock) is backup
    assert backup_lines(result.output) == []  # nothing failed: nothing pulled


def test_a_stay_failing_to_set_near_check_in_gets_one_backup_code_told_masked(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        sim_config(stay("Guest", "905172", SOON), stay("Later", "318264", LATER))
    )
    result = cli("apply", "--auto-approve")
    assert result.code == 1, result.output  # the codes did not set: CI must see it
    lock = sim_lock(tmp_path)
    ((backup_id, backup_pin),) = backup_codes_on(lock).items()
    (line,) = backup_lines(result.out)
    assert line.startswith(f"Backup: door / Guest: backup code pulled ({backup_id}): PIN ****")
    assert backup_pin not in result.output
    guest = next(c for c in lock["codes"] if c["name"] == "Guest")
    assert guest["pulled_backup_access_code_id"] == backup_id
    # Ann is ongoing and Later's check-in is two days off: neither gets one.
    assert journal_pulls(tmp_path) == [("Guest", "pulled", guest["access_code_id"], backup_id)]
    assert backup_pin.encode() not in state_bytes(tmp_path)
    assert len(lock["backup_pool"]) == BACKUP_POOL_SIZE - 1


def test_with_show_codes_the_backup_pin_is_printed(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(sim_config(stay("Guest", "905172", SOON)))
    result = cli("apply", "--auto-approve", "--show-codes")
    ((backup_id, backup_pin),) = backup_codes_on(sim_lock(tmp_path)).items()
    (line,) = backup_lines(result.out)
    assert f"backup code pulled ({backup_id}): PIN {backup_pin}," in line


def test_a_second_apply_and_the_controller_do_not_pull_again(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(sim_config(stay("Guest", "905172", SOON)))
    cli("apply", "--auto-approve")
    first = backup_codes_on(sim_lock(tmp_path))
    assert len(first) == 1

    again = apply_in_process(tmp_path)
    assert again.backups == ()
    controller = cli("controller", "--once")
    assert "backup_code" not in controller.out, controller.output
    assert backup_codes_on(sim_lock(tmp_path)) == first
    assert len(sim_lock(tmp_path)["backup_pool"]) == BACKUP_POOL_SIZE - 1
    assert [row[1] for row in journal_pulls(tmp_path)] == ["pulled"]


def test_an_empty_pool_is_told_once_and_not_asked_again(cli: CliRunner, tmp_path: Path) -> None:
    guests = [f"Guest {i}" for i in range(BACKUP_POOL_SIZE + 1)]
    pins = ["905172", "318264", "527391", "640185"]
    (tmp_path / "accesscodes.yaml").write_text(
        sim_config(*(stay(g, p, SOON) for g, p in zip(guests, pins, strict=True)))
    )
    result = cli("apply", "--auto-approve")
    assert len(backup_lines(result.out)) == BACKUP_POOL_SIZE  # the pool had three
    (empty,) = backup_lines(result.err)
    assert "no backup code: the lock's backup pool is empty" in empty
    assert "the guest has no working code" in empty
    outcomes = sorted(row[1] for row in journal_pulls(tmp_path))
    assert outcomes == ["empty"] + ["pulled"] * BACKUP_POOL_SIZE

    assert apply_in_process(tmp_path).backups == ()
    assert "backup_code" not in cli("controller", "--once").out
    assert sorted(row[1] for row in journal_pulls(tmp_path)) == outcomes


def test_the_controller_pulls_a_backup_code_too_and_tells_it_masked(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(sim_config(stay("Guest", "905172", SOON)))
    config = load_config(tmp_path / "accesscodes.yaml")
    provider = make_provider(config, clock=lambda: datetime.now(UTC))
    journal = open_journal(config, create=True)
    assert journal is not None
    events: list[tuple[str, dict[str, Any]]] = []

    async def one_run() -> ApplyReport:
        try:
            planned = await plan_run(config, provider, now=datetime.now(UTC), journal=journal)
            return await apply_changes(
                config,
                provider,
                planned,
                list(planned.plan.due()),
                journal=journal,
                clock=lambda: datetime.now(UTC),
                emit=lambda event, **fields: events.append((event, fields)),
            )
        finally:
            journal.close()

    report = asyncio.run(one_run())
    ((backup_id, backup_pin),) = backup_codes_on(sim_lock(tmp_path)).items()
    assert [(p.name, p.state) for p in report.backups] == [("Guest", PullState.PULLED)]
    (fields,) = [f for e, f in events if e == "backup_code"]
    assert fields["result"] == "pulled" and fields["backup_access_code_id"] == backup_id
    assert "PIN ****" in fields["message"] and backup_pin not in json.dumps(events)
    # The controller's own run (`controller --once`) finds it pulled and pulls no other.
    assert cli("controller", "--once").code == 0
    assert [row[1] for row in journal_pulls(tmp_path)] == ["pulled"]


def test_a_controller_run_pulls_on_its_own(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(sim_config(stay("Guest", "905172", SOON)))
    assert cli("controller", "--once").code == 0
    ((backup_id, _),) = backup_codes_on(sim_lock(tmp_path)).items()
    assert [row[::3] for row in journal_pulls(tmp_path)] == [("Guest", backup_id)]


def test_without_backup_codes_a_failing_stay_gets_no_backup(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        sim_config(stay("Guest", "905172", SOON), backup=False)
    )
    result = cli("apply", "--auto-approve")
    assert result.code == 1 and backup_lines(result.output) == []
    assert backup_codes_on(sim_lock(tmp_path)) == {}
    assert journal_pulls(tmp_path) == []


def test_the_simulators_pool_can_be_emptied_and_a_pull_then_finds_none(tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(sim_config(backup=True, fails=True))
    config = load_config(tmp_path / "accesscodes.yaml")
    sim = SimProvider(tmp_path / ".accesscodes" / "sim.json", fleet=config.provider.fleet)
    spec = CodeSpec("Guest", "905172", SOON, LEAVES, use_backup_pool=True)

    async def create_then_pull() -> tuple[Any, Any]:
        code = await sim.create_code(DeviceId("lock_1"), spec)
        print(tamper_simulator(config, "empty-backup-pool", "lock_1", None))
        return code, await sim.pull_backup_code(code)

    code, pulled = asyncio.run(create_then_pull())
    assert code.errors and pulled is None
    assert sim_lock(tmp_path)["backup_pool"] == []
    ongoing = asyncio.run(sim.create_code(DeviceId("lock_1"), CodeSpec("Ann", "736194")))
    with pytest.raises(InvalidInputError) as refused:
        asyncio.run(sim.pull_backup_code(ongoing))
    assert refused.value.code == "access_code_not_time_bound"


def test_a_pulled_backup_is_told_masked() -> None:
    pull = BackupPull(
        "door",
        DeviceId("lock_1"),
        "Guest",
        AccessCodeId("sim_code_1"),
        PullState.PULLED,
        "pulled sim_backup_2",
        backup_access_code_id="sim_backup_2",
        code="640185",
        ends_at=LEAVES,
    )
    assert "640185" not in pull.describe() and "640185" not in repr(pull)
    assert "PIN 640185" in pull.describe(show_codes=True)


# -- Seam's fake, over HTTP --------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[SeamFake]:
    with SeamFake() as server:
        server.update_device(FRONT, properties={"supports_backup_access_code_pool": True})
        yield server


def seam_config(*stays: str, backup: bool = True, back: str = "") -> str:
    """Ann and `stays` on the front door (which has a backup pool), `back` on a lock without."""
    head = textwrap.dedent(f"""\
        version: 1
        provider: {{kind: seam, retries: 0, pace_writes: after_429}}
        settings: {{backup_codes: {str(backup).lower()}}}
        devices:
          front:
            device_id: {FRONT}
            codes:
              - {{name: Ann, code: "736194"}}
        """)
    tail = f"  back:\n    device_id: august_device_2\n    codes:\n{back}" if back else ""
    return head + "".join(stays) + tail


def fake_codes(fake: SeamFake, device_id: str) -> list[dict[str, Any]]:
    """Every code the fake holds for a device, backup codes too (the listing leaves them out)."""
    state = fake.request("GET", "_fake/database", auth=False).json
    return [c for c in state["access_codes"] if c["device_id"] == device_id]


def failing_creates(path: str, nth: int, forward: Callable[[], Answer]) -> Answer:
    """The fake never fails to program a lock: its create answers say it did."""
    status, payload = forward()
    if path == "/access_codes/create" and status == 200:
        data = json.loads(payload)
        data["access_code"]["errors"] = [
            {"error_code": "failed_to_set_on_device", "message": "the lock did not take it"}
        ]
        payload = json.dumps(data).encode()
    return status, payload


def test_on_seam_the_pool_is_asked_for_only_where_the_device_has_one(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    config = tmp_path / "accesscodes.yaml"
    config.write_text(seam_config(stay("Guest", "905172", SOON), backup=False))
    assert cli("apply", "--auto-approve", env=fake.env).code == 0
    assert [c for c in fake_codes(fake, FRONT) if c.get("is_backup")] == []

    back = stay("Back guest", "527391", SOON)
    config.write_text(seam_config(stay("Guest 2", "318264", SOON), back=back))
    result = cli("apply", "--auto-approve", env=fake.env)
    assert result.code == 0, result.output
    assert len([c for c in fake_codes(fake, FRONT) if c.get("is_backup")]) == 1
    assert [c for c in fake_codes(fake, "august_device_2") if c.get("is_backup")] == []


def test_on_seam_a_failing_stay_gets_one_backup_code_and_no_second_pull(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(seam_config(stay("Guest", "905172", SOON)))
    with SeamProxy(fake.url, failing_creates) as proxy:
        env = {**fake.env, "SEAM_ENDPOINT": proxy.url}
        result = cli("apply", "--auto-approve", env=env)
        assert proxy.seen[PULL] == 1, result.output
        guest = next(c for c in fake_codes(fake, FRONT) if c["name"] == "Guest")
        backup = next(c for c in fake_codes(fake, FRONT) if c.get("is_backup"))
        assert guest["pulled_backup_access_code_id"] == backup["access_code_id"]
        (line,) = backup_lines(result.out)
        assert f"backup code pulled ({backup['access_code_id']}): PIN ****" in line
        assert backup["code"] not in line
        rows = journal_pulls(tmp_path)
        assert rows == [("Guest", "pulled", guest["access_code_id"], backup["access_code_id"])]

        # The lock reports the failure from now on; the controller's run does not pull again.
        failed = [{"error_code": "failed_to_set_on_device", "message": "the lock did not take it"}]
        fake.update_code(guest["access_code_id"], errors=failed)
        controller = cli("controller", "--once", env=env)
        assert controller.code == 0, controller.output
        assert proxy.seen[PULL] == 1
    assert journal_pulls(tmp_path) == rows


def seam_provider(fake: SeamFake) -> SeamProvider:
    client = SeamClient(api_key=fake.api_key, endpoint=fake.url, retry=RetryPolicy(attempts=1))
    return SeamProvider(client, pace_writes=False)


def test_on_seam_the_provider_reads_the_pool_and_maps_an_empty_one_to_none(
    fake: SeamFake,
) -> None:
    async def scenario() -> None:
        seam = seam_provider(fake)
        try:
            devices = await seam.list_devices([DeviceId(FRONT), DeviceId("august_device_2")])
            assert {d.device_id: d.capabilities.backup_pool for d in devices} == {
                FRONT: True,
                "august_device_2": False,
            }
            spec = CodeSpec("Guest", "905172", SOON, LEAVES, use_backup_pool=True)
            code = await seam.create_code(DeviceId(FRONT), spec)
            pulled = await seam.pull_backup_code(code)
            assert pulled is not None and pulled.is_backup and pulled.code
            again = await seam.pull_backup_code(code)  # Seam gives the same one again
            assert again is not None and again.access_code_id == pulled.access_code_id
            # The backup once pulled for it is gone and Seam has none to give: an empty pool.
            fake.update_code(code.access_code_id, pulled_backup_access_code_id="gone")
            assert await seam.pull_backup_code(code) is None
            ongoing = await seam.create_code(DeviceId(FRONT), CodeSpec("Ann", "736194"))
            with pytest.raises(InvalidInputError) as refused:
                await seam.pull_backup_code(ongoing)
            assert refused.value.code == "access_code_not_time_bound"
        finally:
            await seam.aclose()

    asyncio.run(scenario())


def test_on_seam_an_empty_pool_is_told_once_and_not_asked_again(
    cli: CliRunner, fake: SeamFake, tmp_path: Path
) -> None:
    def empty_pool(path: str, nth: int, forward: Callable[[], Answer]) -> Answer:
        status, payload = failing_creates(path, nth, forward)
        if path == "/access_codes/create" and status == 200:  # as if its backup were used up
            code_id = json.loads(payload)["access_code"]["access_code_id"]
            fake.update_code(code_id, pulled_backup_access_code_id="used-up")
        return status, payload

    (tmp_path / "accesscodes.yaml").write_text(seam_config(stay("Guest", "905172", SOON)))
    with SeamProxy(fake.url, empty_pool) as proxy:
        env = {**fake.env, "SEAM_ENDPOINT": proxy.url}
        result = cli("apply", "--auto-approve", env=env)
        (line,) = backup_lines(result.err)
        assert "door" not in line and "front / Guest: no backup code" in line
        guest = next(c for c in fake_codes(fake, FRONT) if c["name"] == "Guest")
        failed = [{"error_code": "failed_to_set_on_device", "message": "the lock did not take it"}]
        fake.update_code(guest["access_code_id"], errors=failed)
        assert cli("controller", "--once", env=env).code == 0
        assert proxy.seen[PULL] == 1
    assert [row[1] for row in journal_pulls(tmp_path)] == ["empty"]
