"""`plan_run` plans each lock as soon as it is read: the plan is the one made of the whole
fleet at once (`planner.plan` after every lock is read), devices with people's and stays'
codes included (they wait for the whole read: one PIN from all of a holder's doors).

The reference below is what `plan_run` did before it streamed: read the fleet, cut stay names,
assign holders' PINs, then plan every device in config order.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

from conftest import EXAMPLES

from reconciler.apply.inventory import read_live
from reconciler.apply.run import apply_run, plan_run
from reconciler.config.load import Config, load_config
from reconciler.planning.names import fit_stay_names
from reconciler.planning.pins import assign_pins
from reconciler.planning.planner import plan as whole_plan
from reconciler.providers import make_provider
from reconciler.sources.read import read_sources

NOW = datetime(2026, 12, 19, 12, 0, tzinfo=UTC)

MORE_DOORS = """\
  plain-door:
    device_id: august_plain
    codes:
      - {name: Resident, code: "482913"}
      - {name: Guest, code: "736194", starts_at: 2026-12-18T15:00:00, ends_at: 2026-12-21T11:00:00}
  unknown-door:
    device_id: august_nowhere_to_be_found
    codes: [{name: Nobody, code: "591037"}]
"""


def rentals(tmp_path: Path) -> Path:
    folder = tmp_path / "rentals"
    shutil.copytree(EXAMPLES / "rentals", folder)
    path = folder / "accesscodes.yaml"
    text = path.read_text()
    text = text.replace(
        "    august_top: {profile: august, name: Top flat}\n",
        "    august_top: {profile: august, name: Top flat}\n"
        "    august_plain: {profile: august, name: Plain}\n",
    )
    text = text.replace(
        "  top-door: {device_id: august_top}\n",
        "  top-door: {device_id: august_top}\n" + MORE_DOORS,
    )
    path.write_text(text)
    return folder


async def reference(config: Config):
    """plan_run as it was: the whole fleet read, then planned."""
    provider = make_provider(config, clock=lambda: NOW)
    try:
        feeds = await read_sources(config, {}, now=NOW)
        config = config.with_feed_stays(feeds.stays)
        ids = [d.device_id for d in config.devices]
        live = await read_live(provider, ids, concurrency=config.settings.concurrency)
        pins = assign_pins(
            fit_stay_names(config.devices, live),
            config.holders,
            live,
            stored={},
            now=NOW,
            timezone=config.settings.timezone,
        )
        return whole_plan(pins.devices, live, now=NOW, settings=config.settings), live
    finally:
        await provider.aclose()


async def streamed(config: Config, *, keep_live: bool = True):
    provider = make_provider(config, clock=lambda: NOW)
    try:
        return await plan_run(config, provider, now=NOW, keep_live=keep_live)
    finally:
        await provider.aclose()


def test_a_streamed_plan_is_the_whole_fleets_plan(tmp_path: Path) -> None:
    config = load_config(rentals(tmp_path))
    expected, live = asyncio.run(reference(config))
    planned = asyncio.run(streamed(config))
    devices = {change.device for change in planned.plan.changes}
    assert {"entrance", "garden-door", "top-door", "plain-door", "unknown-door"} <= devices
    got = planned.plan.to_data()  # PINs masked: a generated PIN is drawn anew in each run
    want = expected.to_data()
    got.pop("warnings", None)
    assert got == want
    assert list(planned.live) == list(live)


def test_a_plan_only_shown_lets_each_locks_codes_go_once_planned(tmp_path: Path) -> None:
    """`plan` keeps no lock's codes after planning it, save the doors of people and stays
    (their PIN is chosen from all their doors at the end); the plan is the same."""
    config = load_config(rentals(tmp_path))
    asyncio.run(applied(config))  # the locks hold their codes
    kept = asyncio.run(streamed(config))
    shown = asyncio.run(streamed(config, keep_live=False))
    assert _same_but_warnings(shown, kept)
    holders_doors = {d.device_id for d in config.devices if any(c.holder for c in d.codes)}
    plain = kept.live["august_plain"]
    assert plain.codes and not shown.live["august_plain"].codes
    assert shown.live["august_plain"].device == plain.device
    for device_id in holders_doors & set(kept.live):
        assert shown.live[device_id] == kept.live[device_id]


async def applied(config: Config) -> None:
    provider = make_provider(config, clock=lambda: NOW)
    try:
        planned = await plan_run(config, provider, now=NOW)
        await apply_run(config, provider, planned, clock=lambda: NOW)
    finally:
        await provider.aclose()


def _same_but_warnings(one, other) -> bool:
    """Equal plans but for the `warnings` a feed's fresh read may add."""
    a, b = one.plan.to_data(), other.plan.to_data()
    a.pop("warnings", None)
    b.pop("warnings", None)
    return a == b
