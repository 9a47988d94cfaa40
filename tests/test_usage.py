"""Usage (issue #18): who opened which door when, and the stays nobody has used by mid-stay.

`history --usage` is checked end to end: the controller (a subprocess, `--events poll`) reads
an unlock made through Seam's fake `locks/unlock_door` from `events/list` and the history
names the person, never the PIN. The fake's unlock is a remote one and names no code, so the
proxy in front of it adds the `access_code_id` to that event, as Seam's `lock.unlocked` does
for the makers that report it (August, Schlage, Yale, ...). The `stay_unused` report is checked
in-process on the simulator, with unlocks put in the usage table as the controller keeps them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import CliRunner
from controllerproc import reconciled
from seamfake import SeamFake
from seamproxy import Answer, SeamProxy
from test_events_poll import Polling

from reconciler.apply.run import open_journal
from reconciler.config.load import load_config
from reconciler.controller.loop import Controller
from reconciler.core.plan import iso
from reconciler.state.eventlog import Unlock

PIN = "482913"
SEAM_CONFIG = f"""\
version: 1
provider: {{kind: seam, retries: 0, pace_writes: after_429}}
settings: {{self_heal: restore}}
devices:
  front: {{device_id: august_device_1}}
people:
  - {{name: Alice, doors: [front], code: "{PIN}"}}
"""


def naming_the_code(codes: dict[str, str]) -> Callable[[str, int, Callable[[], Answer]], Answer]:
    """A proxy rule: `lock.unlocked` events of these devices name the code that opened them."""

    def rule(path: str, nth: int, forward: Callable[[], Answer]) -> Answer:
        status, body = forward()
        if path != "/events/list" or status != 200:
            return status, body
        data = json.loads(body)
        for event in data["events"]:
            if event["event_type"] == "lock.unlocked" and event.get("device_id") in codes:
                event.setdefault("access_code_id", codes[event["device_id"]])
                event["method"] = "keycode"
        return status, json.dumps(data).encode()

    return rule


def test_history_usage_shows_an_unlock_read_from_events_list_by_name_never_the_pin(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(SEAM_CONFIG)
    codes: dict[str, str] = {}
    with SeamFake() as fake, SeamProxy(fake.url, naming_the_code(codes)) as proxy:
        env = {**fake.env, "SEAM_ENDPOINT": proxy.url}
        running = Polling(tmp_path / "accesscodes.yaml", env=env)
        try:
            running.wait_for(reconciled, timeout=30)
            (alice,) = fake.list_codes("august_device_1", managed=True)
            codes["august_device_1"] = alice["access_code_id"]
            assert fake.post("locks/unlock_door", {"device_id": "august_device_1"}).ok
            unlock = running.wait_for(lambda e: e["event"] == "unlock", timeout=10)
            assert unlock["name"] == "Alice" and unlock["device"] == "front"
            metrics = running.get("/metrics")[1]
            assert 'accesscodes_unlocks_total{device="front"} 1.0' in metrics
        finally:
            assert running.stop() == 0
        history = cli("history", "--usage", env=fake.env)
    assert history.code == 0, history.output
    (line,) = history.out.splitlines()
    at, door, who = line.split("  ")
    assert (door, who) == ("front", "Alice")
    assert abs(datetime.fromisoformat(at.replace("Z", "+00:00")) - datetime.now(UTC)) < timedelta(
        minutes=1
    )
    assert PIN not in history.output


def test_history_usage_before_any_unlock_says_how_they_are_recorded(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        "version: 1\ndevices:\n  front:\n    device_id: august_front\n"
    )
    result = cli("history", "--usage")
    assert result.code == 0
    assert "No unlocks recorded yet" in result.out and "--events poll" in result.out


# -- stay_unused ----------------------------------------------------------------------------

STAY_CONFIG = """\
version: 1
provider: {{kind: sim}}
settings: {{self_heal: restore}}
devices:
  entrance: {{device_id: august_entrance}}
  flat: {{device_id: august_flat}}
places:
  flat: {{doors: [entrance, flat], timezone: UTC, check_in: "00:00", check_out: "00:00"}}
people:
  - {{name: Owner, places: [flat], code: "739146"}}
stays:
  - {{guest: Bob Smith, place: flat, check_in: "{check_in}", check_out: "{check_out}"}}
"""


def stay_days(tmp_path: Path, started_days_ago: int, lasts_days: int) -> Path:
    today = datetime.now(UTC).date()
    start = today - timedelta(days=started_days_ago)
    path = tmp_path / "accesscodes.yaml"
    path.write_text(
        STAY_CONFIG.format(check_in=start, check_out=start + timedelta(days=lasts_days))
    )
    return path


def full_run(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    controller = Controller(path, interval=3600, emit=records.append)
    asyncio.run(controller.run_once())
    assert [r for r in records if r["event"] == "reconciled"][-1]["result"] == "ok", records
    return records


def opened(path: Path, device_id: str, name: str, *, hours_ago: float = 1) -> None:
    """An unlock as the controller keeps it (`record_unlocks`)."""
    config = load_config(path)
    journal = open_journal(config, create=True)
    assert journal is not None
    at = iso(datetime.now(UTC) - timedelta(hours=hours_ago)) or ""
    key = {"august_entrance": "entrance", "august_flat": "flat"}[device_id]
    journal.events.record_unlock(f"ev-{name}-{at}", Unlock(at, key, device_id, "some_id", name))
    journal.close()


def unused(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["event"] == "stay_unused"]


def test_a_stay_unused_by_mid_stay_is_reported_once_with_its_name_and_doors(
    tmp_path: Path,
) -> None:
    path = stay_days(tmp_path, started_days_ago=3, lasts_days=5)
    full_run(path)  # the codes go on the locks
    opened(path, "august_entrance", "Owner")  # the doors report usage; Bob's code is unused
    first = full_run(path)
    (report,) = unused(first)
    assert report["name"] == "Bob Smith"
    assert report["doors"] == ["entrance", "flat"]
    assert report["starts_at"] < report["ends_at"]
    assert "739146" not in json.dumps(first)
    again = full_run(path)
    assert unused(again) == []  # once per stay, across processes too
    assert not [r for r in first + again if r["event"] == "change"]  # usage changes no code


def test_a_stay_whose_code_opened_a_door_is_not_reported(tmp_path: Path) -> None:
    path = stay_days(tmp_path, started_days_ago=3, lasts_days=5)
    full_run(path)
    opened(path, "august_flat", "Bob Smith", hours_ago=30)
    assert unused(full_run(path)) == []


def test_no_report_before_mid_stay_nor_without_doors_that_report_usage(tmp_path: Path) -> None:
    path = stay_days(tmp_path, started_days_ago=1, lasts_days=5)
    full_run(path)
    opened(path, "august_entrance", "Owner")
    assert unused(full_run(path)) == []  # a day into five: not mid-stay yet
    later = tmp_path / "later"
    later.mkdir()
    path = stay_days(later, started_days_ago=3, lasts_days=5)
    assert unused(full_run(path)) == []  # mid-stay, but no door has ever told of an unlock
