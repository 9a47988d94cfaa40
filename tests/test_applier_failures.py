"""One failure stays one failure, and nobody loses a code before its replacement is in place.

On the simulator (real files, the CLI as a subprocess where the exit code matters): an error of
any kind in one change fails that change only and the run is closed `failed`; a lock's deletes
are not sent once a create on it failed; a delete replaced by a new code waits until the lock
reports the new code set, and is skipped when it is not.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import CliRunner

from reconciler.apply.applier import (
    SKIPPED_AFTER_FAILED_CREATE,
    ApplyReport,
    ConfirmWait,
    Outcome,
    OutcomeState,
    apply_plan,
)
from reconciler.apply.inventory import read_live
from reconciler.apply.run import PlannedRun, apply_run
from reconciler.config.load import load_config
from reconciler.config.schema import SimDeviceConfig
from reconciler.core.errors import ProviderError
from reconciler.core.models import CodeSpec, DeviceId, DeviceKey, LiveCode
from reconciler.core.plan import Action, Change, CodeState, Plan
from reconciler.providers.sim import SimProvider
from reconciler.state.journal import Journal

NOW = datetime(2026, 11, 23, 15, tzinfo=UTC)
FRONT = DeviceId("august_front")


def sim_config(tmp_path: Path, front: str, back: str) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        textwrap.dedent("""\
        version: 1
        provider:
          kind: sim
          fleet:
            august_front: {profile: august}
            august_back: {profile: august}
        settings: {prune: true}
        devices:
          front:
            device_id: august_front
            codes:
        %s
          back:
            device_id: august_back
            codes:
        %s
        """)
        % (textwrap.indent(front, "      "), textwrap.indent(back, "      "))
    )


def edit_sim(tmp_path: Path, device_id: str, **fields: object) -> None:
    state_file = tmp_path / ".accesscodes" / "sim.json"
    state = json.loads(state_file.read_text())
    state["devices"][device_id].update(fields)
    state_file.write_text(json.dumps(state))


def sim_names(tmp_path: Path, device_id: str) -> list[str]:
    state = json.loads((tmp_path / ".accesscodes" / "sim.json").read_text())
    return sorted(c["name"] for c in state["devices"][device_id]["codes"])


def test_a_locks_deletes_are_not_sent_once_a_create_on_it_failed(
    cli: CliRunner, tmp_path: Path
) -> None:
    sim_config(tmp_path, '- {name: Old, code: "482913"}', '- {name: Gone, code: "905172"}')
    assert cli("apply", "--auto-approve", "--now", "2026-11-23T15:00:00Z").code == 0
    sim_config(tmp_path, '- {name: New, code: "736194"}', "[]")
    edit_sim(tmp_path, "august_front", online=False)  # the create will fail

    applied = cli("apply", "--auto-approve", "--now", "2026-11-23T15:00:00Z")
    assert applied.code == 1, applied.output
    assert "[device_offline]" in applied.out
    assert SKIPPED_AFTER_FAILED_CREATE in applied.out
    assert sim_names(tmp_path, "august_front") == ["Old"], "Old keeps the door until New is in"
    assert sim_names(tmp_path, "august_back") == [], "another lock's delete went on"
    history = cli("history").out
    assert "front / Old: delete skipped" in history and "back / Gone: delete ok" in history


def test_an_unexpected_error_fails_only_its_change_and_the_run_is_closed_failed(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / ".accesscodes").mkdir()
    keypad = [  # one-digit PINs prefix every PIN a generator could choose: a RuntimeError
        {
            "access_code_id": f"keypad_{d}",
            "code": str(d),
            "name": f"Keypad {d}",
            "is_managed": False,
            "errors": [],
            "warnings": [],
        }
        for d in range(10)
    ]
    device = {"name": "Front", "profile": "august", "online": True, "codes": keypad}
    (tmp_path / ".accesscodes" / "sim.json").write_text(
        json.dumps({"version": 1, "next_id": 1, "devices": {"august_front": device}})
    )
    sim_config(
        tmp_path,
        '- {name: Gen}\n- {name: Carol, code: "736194"}',
        '- {name: Alice, code: "482913"}',
    )

    applied = cli("apply", "--auto-approve", "--now", "2026-11-23T15:00:00Z")
    assert applied.code == 1, applied.output
    assert "Traceback" not in applied.output
    assert "RuntimeError: could not generate a PIN" in applied.out
    assert [n for n in sim_names(tmp_path, "august_front") if not n.startswith("Keypad")] == [
        "Carol"
    ]
    assert sim_names(tmp_path, "august_back") == ["Alice"]
    history = cli("history").out
    assert "apply  failed" in history and "front / Gen: create failed" in history


class Time:
    """One clock for the simulator, the applier and its waits; sleeping moves it on."""

    def __init__(self) -> None:
        self.now = NOW
        self.elapsed = 0.0
        self.slept: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.elapsed

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.elapsed += seconds
        self.now += timedelta(seconds=seconds)

    def wait(self) -> ConfirmWait:
        return ConfirmWait(timeout=30, interval=1, sleep=self.sleep, monotonic=self.monotonic)


def replace_code(
    tmp_path: Path, time: Time, *, delay: str, new_pin: str = "736194"
) -> tuple[ApplyReport, SimProvider]:
    """On a lock holding Old: create New, then delete Old as replaced by New."""
    fleet = {FRONT: SimDeviceConfig(profile="august", programming_delay=delay)}
    provider = SimProvider(tmp_path / "sim.json", fleet=fleet, clock=time.clock)

    async def main() -> ApplyReport:
        old = await provider.create_code(FRONT, CodeSpec("Old", "482913"))
        time.now += timedelta(days=1)  # Old has long been set
        live = await read_live(provider, [FRONT], concurrency=1)
        spec = CodeSpec("New", new_pin)
        changes = (
            Change(
                Action.CREATE,
                DeviceKey("front"),
                FRONT,
                "New",
                spec=spec,
                after=CodeState.of_spec(spec),
            ),
            Change(
                Action.DELETE,
                DeviceKey("front"),
                FRONT,
                "Old",
                access_code_id=old.access_code_id,
                replaced_by="New",
            ),
        )
        return await apply_plan(
            Plan(time.now, changes),
            provider,
            live,
            concurrency=1,
            clock=time.clock,
            confirm=time.wait(),
        )

    return asyncio.run(main()), provider


def names(provider: SimProvider) -> list[str]:
    return sorted(c.name for c in asyncio.run(provider.list_codes(FRONT)))


def test_a_replaced_delete_waits_until_the_new_code_is_set(tmp_path: Path) -> None:
    time = Time()
    report, provider = replace_code(tmp_path, time, delay="5s")
    assert [o.state for o in report.outcomes] == [OutcomeState.OK, OutcomeState.OK]
    assert sum(time.slept) >= 5, "Old went before the lock held New"
    assert names(provider) == ["New"]


def test_a_replaced_delete_is_skipped_when_the_new_code_is_not_set_in_time(tmp_path: Path) -> None:
    time = Time()
    report, provider = replace_code(tmp_path, time, delay="1h")
    create, delete = report.outcomes
    assert create.state is OutcomeState.OK
    assert delete.state is OutcomeState.SKIPPED
    assert delete.message == (
        "not sent: New was not confirmed set within 30 s (still setting); "
        "the old code stays until it is"
    )
    assert sum(time.slept) == 30
    assert report.failed == [delete] and report.counts()["skipped"] == 1
    assert names(provider) == ["New", "Old"]


def test_a_replaced_delete_is_skipped_when_its_create_failed(tmp_path: Path) -> None:
    time = Time()
    report, provider = replace_code(tmp_path, time, delay="0s", new_pin="482913")  # duplicate
    create, delete = report.outcomes
    assert (create.state, create.error_code) == (OutcomeState.FAILED, "duplicate_access_code")
    assert (delete.state, delete.message) == (OutcomeState.SKIPPED, SKIPPED_AFTER_FAILED_CREATE)
    assert time.slept == []
    assert names(provider) == ["Old"]


class QuotingSim(SimProvider):
    """A simulator whose lock quotes the PIN back in a form no digit pattern catches."""

    async def create_code(self, device_id: DeviceId, spec: CodeSpec) -> LiveCode:
        raise ProviderError(f"lock said: PIN{spec.code}x refused", code="lock_error")


def test_the_applier_masks_the_changes_pin_in_what_it_records(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "state.db")
    provider = QuotingSim(tmp_path / "sim.json")
    spec = CodeSpec("Alice", "482913")
    change = Change(
        Action.CREATE, DeviceKey("front"), FRONT, "Alice", spec=spec, after=CodeState.of_spec(spec)
    )

    async def main() -> ApplyReport:
        live = await read_live(provider, [FRONT], concurrency=1)
        return await apply_plan(
            Plan(NOW, (change,)), provider, live, concurrency=1, journal=journal, run_id=1
        )

    (outcome,) = asyncio.run(main()).outcomes
    journal.close()
    assert outcome.message == "lock said: PIN****x refused"
    assert b"482913" not in (tmp_path / "state.db").read_bytes()


def test_a_run_is_closed_failed_when_an_error_escapes(tmp_path: Path) -> None:
    sim_config(tmp_path, '- {name: Carol, code: "736194"}', "[]")
    config = load_config(tmp_path / "accesscodes.yaml")
    provider = SimProvider(tmp_path / "sim.json")
    journal = Journal(tmp_path / "state.db")
    spec = CodeSpec("Carol", "736194")
    change = Change(
        Action.CREATE, DeviceKey("front"), FRONT, "Carol", spec=spec, after=CodeState.of_spec(spec)
    )

    def broken_printer(outcome: Outcome) -> None:
        raise BrokenPipeError("stdout went away")

    async def main() -> None:
        live = await read_live(provider, [FRONT], concurrency=1)
        await apply_run(
            config,
            provider,
            PlannedRun(Plan(NOW, (change,)), live),
            journal=journal,
            on_outcome=broken_printer,
        )

    with pytest.raises(BrokenPipeError):
        asyncio.run(main())
    journal.close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("SELECT outcome FROM runs").fetchall() == [("failed",)]
        assert db.execute("SELECT status FROM changes").fetchall() == [("ok",)]
