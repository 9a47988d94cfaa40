"""A large fleet for the pictures' size and speed tests: N doors in places of four, each with
an ongoing code, two schedules and stays one after another, on the simulator.

The config is written as a user would (YAML, `places:`), and planned in-process through the
simulator, so the timeline drawn is the one `accesscodes timeline` would draw.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from pathlib import Path

from reconciler.apply.run import PlannedRun, plan_run
from reconciler.config.load import Config, load_config
from reconciler.core.models import Capabilities
from reconciler.core.rules import generate_pin
from reconciler.planning.timeline import Timeline, build_timeline
from reconciler.providers import make_provider

ZONES = ("America/New_York", "Europe/Lisbon")


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_fleet(
    folder: Path, *, doors: int, codes_per_door: int, now: datetime, self_heal: str = "restore"
) -> Path:
    """`folder/accesscodes.yaml`: `doors` August doors (a quarter of them in Lisbon), in
    places of four, each with `codes_per_door` codes: an ongoing one and two weekly schedules
    with PINs (drawn by the lock's rules, the same for the same fleet), and one-night stays
    after one another, their PINs generated. Returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    draw = random.Random(20).choice
    stays = codes_per_door - 3
    lines = [
        "version: 1",
        "provider: {kind: sim}",
        f"settings: {{timezone: UTC, horizon: 14d, self_heal: {self_heal}}}",
        "places:",
    ]
    for place in range(doors // 4):
        members = ", ".join(f"door-{place * 4 + k:03d}" for k in range(4))
        lines.append(f"  place-{place:02d}: {{doors: [{members}]}}")
    lines.append("devices:")
    for door in range(doors):
        zone = ZONES[door % 4 == 3]
        pins: list[str] = []
        for _ in range(3):
            pins.append(generate_pin(Capabilities(), taken=pins, choice=draw))
        lines += [
            f"  door-{door:03d}:",
            f"    device_id: august_d{door:03d}",
            f"    timezone: {zone}",
            "    codes:",
            f'      - {{name: Resident {door}, code: "{pins[0]}"}}',
            f'      - {{name: Cleaner {door}, code: "{pins[1]}", '
            'schedule: {cron: "0 10 * * TUE", duration: 4h}}',
            f'      - {{name: Gardener {door}, code: "{pins[2]}", '
            'schedule: {cron: "0 8 * * FRI", duration: 2h}}',
        ]
        for stay in range(stays):
            start = (now + timedelta(days=2 * stay + door % 2)).replace(hour=16, minute=0)
            end = (start + timedelta(days=1)).replace(hour=11)
            lines.append(
                f"      - {{name: Guest {door}-{stay}, starts_at: {_z(start)}, ends_at: {_z(end)}}}"
            )
    (folder / "accesscodes.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


async def _plan(config: Config, now: datetime) -> PlannedRun:
    provider = make_provider(config, clock=lambda: now)
    try:
        return await plan_run(config, provider, now=now)
    finally:
        await provider.aclose()


def plan_fleet(folder: Path, now: datetime) -> tuple[Config, PlannedRun, Timeline]:
    """The fleet planned at `now` on the simulator, and its timeline over the horizon."""
    config = load_config(folder)
    planned = asyncio.run(_plan(config, now))
    capabilities = {key: live.device.capabilities for key, live in planned.live.items()}
    timeline = build_timeline(config.devices, planned.plan, capabilities, config.settings)
    return config, planned, timeline
