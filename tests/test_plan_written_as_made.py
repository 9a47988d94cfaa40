"""`plan --format json` writes each lock's changes as soon as the locks before it are planned
(`cli.planstream`, `plan_run(sink=...)`): the fleet's changes are never all in memory, and
the text is the plan JSON of the whole plan, byte for byte."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, CliRunner

from reconciler.apply.run import plan_run
from reconciler.cli import planstream
from reconciler.config.load import Config, load_config
from reconciler.core.plan import Change
from reconciler.providers import make_provider

NOW = datetime(2026, 12, 19, 12, 0, tzinfo=UTC)

# Six locks; a person on door-2, whose PIN is chosen once every lock is read.
LOCKS = ", ".join(f"lock_{i}: {{profile: august}}" for i in range(6))
DOORS = "".join(
    f"  door-{i}:\n    device_id: lock_{i}\n"
    f'    codes: [{{name: Resident {i}, code: "{482913 + i}"}}]\n'
    for i in range(6)
)
FLEET = f"""\
version: 1
provider:
  kind: sim
  fleet: {{{LOCKS}}}
settings: {{timezone: Europe/Lisbon}}
devices:
{DOORS}places:
  flat: {{doors: [door-2], timezone: Europe/Lisbon}}
people:
  - {{name: Owner, places: [flat]}}
"""


def fleet(tmp_path: Path) -> Config:
    path = tmp_path / "fleet" / "accesscodes.yaml"
    path.parent.mkdir()
    path.write_text(FLEET)
    return load_config(path.parent)


async def planned_with_sink(config: Config) -> tuple[list[tuple[int, list[Change]]], Any, Any]:
    """The parts the sink was given, each with how many locks had been read by then; the
    run returned alongside; and the plan made without a sink."""
    read = 0

    def tick() -> None:
        nonlocal read
        read += 1

    given: list[tuple[int, list[Change]]] = []
    provider = make_provider(config, clock=lambda: NOW)
    try:
        planned = await plan_run(
            config,
            provider,
            now=NOW,
            on_device_read=tick,
            keep_live=False,
            sink=lambda part: given.append((read, list(part))),
        )
        whole = await plan_run(config, provider, now=NOW)
    finally:
        await provider.aclose()
    return given, planned, whole.plan


def test_the_sink_gets_the_plans_changes_in_order_and_the_plan_keeps_none(
    tmp_path: Path,
) -> None:
    given, streamed, whole = asyncio.run(planned_with_sink(fleet(tmp_path)))
    handed = [change for _, part in given for change in part]
    assert [c.to_data(show_codes=False) for c in handed] == [
        c.to_data(show_codes=False) for c in whole.changes
    ]
    assert [c.device for c in handed][:3] == ["door-0", "door-1", "door-2"]
    assert streamed.plan.changes == () and streamed.plan.drift == whole.drift
    assert list(streamed.live) == ["lock_2"]  # the holder's door: the others were let go


def test_the_locks_before_a_holders_door_are_handed_over_while_the_fleet_is_read(
    tmp_path: Path,
) -> None:
    given, _, _ = asyncio.run(planned_with_sink(fleet(tmp_path)))
    early = [part for read, part in given if read < 6]
    assert {c.device for part in early for c in part} == {"door-0", "door-1"}


def rentals(tmp_path: Path) -> Path:
    folder = tmp_path / "rentals"
    shutil.copytree(EXAMPLES / "rentals", folder)
    return folder


@pytest.mark.timeout(120)  # three accesscodes subprocesses
def test_the_streamed_json_is_the_whole_plans_json_byte_for_byte(
    cli: CliRunner, tmp_path: Path
) -> None:
    """`--out` prints the JSON from the whole plan (it seals the file whole); without it the
    JSON is written as it is made. Run with --out first: it makes the plan key both use."""
    folder = rentals(tmp_path)
    saved = tmp_path / "plan.json"
    common = ("plan", "-c", str(folder), "--format", "json", "--now", NOW.isoformat())
    whole = cli(*common, "--out", str(saved), "--detailed-exitcode")
    streamed = cli(*common, "--detailed-exitcode")
    assert (whole.code, streamed.code) == (2, 2), (whole.err, streamed.err)
    assert streamed.out == whole.out
    data = json.loads(streamed.out)
    assert data["summary"]["create"] > 0 and data["checksum"].startswith("sha256:")
    shown = cli(*common, "--show-codes")
    assert json.loads(shown.out)["summary"] == data["summary"]


class _FailsHalfway:
    """The simulator, until the third lock's codes are asked for: then an error no retry
    handles (a bug, a killed connection)."""

    def __init__(self, provider: Any) -> None:
        self.provider, self.asked = provider, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.provider, name)

    async def list_codes(self, device_id: str) -> Any:
        self.asked += 1
        if self.asked == 3:
            raise RuntimeError("the connection went away")
        return await self.provider.list_codes(device_id)


def test_a_plan_that_fails_half_way_prints_no_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = fleet(tmp_path)
    args = argparse.Namespace(
        command="plan", format="json", out=None, now=NOW, show_codes=False, detailed_exitcode=False
    )

    async def run() -> int:
        provider = _FailsHalfway(make_provider(config, clock=lambda: NOW))
        try:
            return await planstream.stream_json_plan(args, config, provider, None)
        finally:
            await provider.aclose()

    with pytest.raises(RuntimeError, match="went away"):
        asyncio.run(run())
    assert capsys.readouterr().out == ""
