"""Events without a webhook (issue #18): `controller --events poll` reads `events/list`.

The end-to-end tests run the controller as a real subprocess with a one-hour resync interval,
so only an event read from `events/list` can explain a repair within seconds: against Seam's
fake server (whose `access_codes/delete` records an `access_code.deleted` event) and on the
simulator (whose `sim tamper` records the event Seam would send). The poller's own rules
(overlapping windows, each event once, the cursor across restarts, failures backed off) are
checked in-process with a provider that answers from a list.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
from conftest import CliRunner
from controllerproc import Running, free_port, reconciled
from seamfake import FAKE_DIR, SeamFake
from seamproxy import SeamProxy

from reconciler.apply.run import open_journal
from reconciler.config.load import load_config
from reconciler.controller.eventpoll import EventPoller
from reconciler.controller.loop import Controller
from reconciler.core.errors import TemporaryProviderError
from reconciler.providers.seam_events import events_body

SEAM_CONFIG = """\
version: 1
provider: {kind: seam, retries: 0, pace_writes: after_429}
settings: {self_heal: restore}
devices:
  front:
    device_id: august_device_1
    codes:
      - {name: Alice, code: "482913"}
"""
SIM_CONFIG = """\
version: 1
provider: {kind: sim}
settings: {self_heal: restore}
devices:
  front:
    device_id: august_front
"""
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Polling(Running):
    """`accesscodes controller --events poll` as a subprocess (`Running` with that flag)."""

    def __init__(self, config: Path, *, env: dict[str, str], interval: str = "1h") -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "reconciler", "controller", "-c", str(config)]
        command += ["--interval", interval, "--listen", f"127.0.0.1:{self.port}"]
        self.proc = subprocess.Popen(
            [*command, "--events", "poll"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        )
        self.events: list[dict] = []


def names_on(fake: SeamFake) -> list[str]:
    return [c["name"] for c in fake.list_codes("august_device_1", managed=True)]


def test_without_a_webhook_a_code_removed_at_seam_is_restored_within_10_s(tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(SEAM_CONFIG)
    with SeamFake() as fake, SeamProxy(fake.url) as proxy:
        env = {**fake.env, "SEAM_ENDPOINT": proxy.url}
        running = Polling(tmp_path / "accesscodes.yaml", env=env)
        try:
            running.wait_for(reconciled, timeout=30)
            settle(proxy)  # the start's own events (Alice created, the fake's seed) are read
            (alice,) = fake.list_codes("august_device_1", managed=True)
            removed_at = datetime.now(UTC)
            # with its device_id: the fake takes the event's device_id from the request
            gone = {"access_code_id": alice["access_code_id"], "device_id": "august_device_1"}
            assert fake.post("access_codes/delete", gone).ok
            removed = time.monotonic()
            while names_on(fake) != ["Alice"]:
                assert time.monotonic() - removed < 10, "Alice was not restored within 10 s"
                time.sleep(0.1)
        finally:
            assert running.stop() == 0
    seen = rest_of(running)
    # the first full run created Alice; the repair was a run of the one device the
    # access_code.deleted event named (a full run starts with device_status events)
    after = [e for e in seen if datetime.fromisoformat(e["ts"].replace("Z", "+00:00")) > removed_at]
    repair = next(i for i, e in enumerate(after) if e["event"] == "change")
    assert after[repair]["name"] == "Alice" and after[repair]["action"] == "create"
    assert after[repair - 1]["event"] == "event_reconcile"
    assert after[repair - 1]["devices"] == ["august_device_1"]
    assert [e["event"] for e in after[:repair]].count("device_status") == 0


def settle(proxy: SeamProxy) -> None:
    """Wait for the second read of events/list and the run it may start."""
    deadline = time.monotonic() + 10
    while proxy.seen["/events/list"] < 2:
        assert time.monotonic() < deadline, "events/list is not read every 5 s"
        time.sleep(0.1)
    time.sleep(0.5)


def rest_of(running: Running) -> list[dict]:
    """Every event the (stopped) controller printed."""
    assert running.proc.stdout is not None
    tail = [json.loads(line) for line in running.proc.stdout.read().splitlines() if line]
    return [*running.events, *tail]


def test_on_the_simulator_a_tampered_code_is_restored_within_10_s(
    cli: CliRunner, tmp_path: Path
) -> None:
    folder = tmp_path / "sim"
    folder.mkdir()
    (folder / "accesscodes.yaml").write_text(
        SIM_CONFIG + '    codes:\n      - {name: Alice, code: "482913"}\n'
    )
    running = Polling(folder / "accesscodes.yaml", env={})
    try:
        running.wait_for(reconciled, timeout=30)
        assert cli("sim", "tamper", "-c", str(folder), "remove", "august_front", "Alice").code == 0
        removed = time.monotonic()
        before = len(running.events)  # the first run's create of Alice is not the repair
        running.wait_for(lambda e: e["event"] == "event_reconcile", timeout=10, after=before)
        repaired = len(running.events)
        running.wait_for(
            lambda e: e["event"] == "change" and e["result"] == "ok", timeout=10, after=repaired
        )
        assert time.monotonic() - removed < 10
    finally:
        assert running.stop() == 0
    state = json.loads((folder / ".accesscodes" / "sim.json").read_text())
    assert [c["name"] for c in state["devices"]["august_front"]["codes"]] == ["Alice"]
    kinds = [e["event_type"] for e in state["events"]]
    assert "access_code.deleted_external_to_seam" in kinds
    assert kinds.count("access_code.created") == 2  # the first create, then the repair


def test_events_webhook_without_listen_or_secret_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(SIM_CONFIG)
    env = {"SEAM_WEBHOOK_SECRET": ""}
    result = cli("controller", "--events", "webhook", env=env)
    assert result.code == 1
    assert "--events webhook needs --listen" in result.err
    result = cli("controller", "--events", "webhook", "--listen", "127.0.0.1:1", env=env)
    assert result.code == 1
    assert "SEAM_WEBHOOK_SECRET" in result.err


def test_the_events_list_request_is_one_seams_spec_allows() -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed (Seam's OpenAPI spec)"
    out = subprocess.run(
        [node, str(FAKE_DIR / "openapi.mjs"), "/events/list"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    schema = json.loads(out)["/events/list"]
    for page in (0, 3):
        jsonschema.validate(events_body(T0, page), schema)
    assert events_body(T0, 0) == {"since": "2026-03-01T12:00:00Z", "limit": 500}
    assert events_body(T0, 3)["unstable_offset"] == 1500


# -- the poller in-process -------------------------------------------------------------------


class Listed:
    """A provider whose `events/list` answers from `events` (or raises `failure`)."""

    kind = "sim"

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.since: list[datetime] = []
        self.failure: Exception | None = None

    async def list_events(self, since: datetime) -> list[dict[str, Any]]:
        self.since.append(since)
        if self.failure is not None:
            raise self.failure
        return [e for e in self.events if datetime.fromisoformat(e["created_at"]) > since]

    async def aclose(self) -> None:
        return None


def seam_event(event_id: str, at: datetime, device_id: str = "august_front") -> dict[str, Any]:
    stamp = at.isoformat().replace("+00:00", "Z")
    return {
        "event_id": event_id,
        "event_type": "access_code.deleted",
        "device_id": device_id,
        "access_code_id": "code_1",
        "created_at": stamp,
        "occurred_at": stamp,
    }


def in_process(tmp_path: Path, provider: Listed, now: list[datetime]) -> Controller:
    path = tmp_path / "accesscodes.yaml"
    if not path.exists():
        path.write_text(SIM_CONFIG)
    records: list[dict[str, Any]] = []
    controller = Controller(
        path,
        interval=3600,
        clock=lambda: now[0],
        emit=records.append,
        provider_factory=lambda config, clock: provider,  # type: ignore[arg-type,return-value]
    )
    controller.last_config = load_config(path)
    controller.records = records  # type: ignore[attr-defined]
    return controller


def test_windows_overlap_by_30_s_and_each_event_is_queued_once_across_restarts(
    tmp_path: Path,
) -> None:
    provider, now = Listed(), [T0]
    controller = in_process(tmp_path, provider, now)
    journal = open_journal(controller.last_config, create=True)  # type: ignore[arg-type]
    assert journal is not None
    journal.close()
    poller = EventPoller(controller)
    provider.events = [seam_event("e1", T0 - timedelta(seconds=20)), seam_event("e2", T0)]

    async def scenario() -> list[int]:
        first = await poller.poll_once()
        now[0] = T0 + timedelta(seconds=5)
        provider.events.append(seam_event("e3", now[0]))
        second = await poller.poll_once()  # e2 again (the overlap) and e3
        return [first, second]

    assert asyncio.run(scenario()) == [2, 1]
    assert provider.since == [T0 - timedelta(seconds=30), T0 - timedelta(seconds=30)]
    assert [e.event_id for e in controller.inbox.take()] == ["e1", "e2", "e3"]
    assert poller.cursor == T0 + timedelta(seconds=5)

    # a new process reads on from the cursor kept in the state store, 30 s back
    restarted = EventPoller(in_process(tmp_path, provider, now))
    asyncio.run(restarted.poll_once())
    assert provider.since[-1] == T0 + timedelta(seconds=5) - timedelta(seconds=30)


def test_a_failing_read_is_logged_and_backed_off_and_never_ends_the_poller(
    tmp_path: Path,
) -> None:
    provider, now = Listed(), [T0]
    controller = in_process(tmp_path, provider, now)
    provider.failure = TemporaryProviderError(
        "Seam events/list: HTTP 503 for 482913", code="http_503"
    )
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            provider.failure = None
        if len(waits) == 5:
            controller.stop()

    asyncio.run(EventPoller(controller, period=5.0, sleep=sleep).run())
    assert waits == [10.0, 20.0, 40.0, 5.0, 5.0]
    failed = [r for r in controller.records if r["event"] == "events_poll_failed"]  # type: ignore[attr-defined]
    assert len(failed) == 3
    assert "482913" not in json.dumps(failed)
    assert failed[0]["retry_in"] == 10.0
    registry = controller.metrics.registry
    assert registry.get_sample_value("accesscodes_provider_errors_total", {"code": "http_503"}) == 3


def test_an_event_for_a_device_the_config_does_not_list_is_counted_not_dropped(
    tmp_path: Path,
) -> None:
    provider, now = Listed(), [T0]
    controller = in_process(tmp_path, provider, now)
    provider.events = [seam_event("e1", T0, device_id="someone_elses_lock")]
    asyncio.run(EventPoller(controller).poll_once())
    asyncio.run(controller.reconcile_events(controller.inbox.take()))
    registry = controller.metrics.registry
    assert registry.get_sample_value("accesscodes_events_total", {"outcome": "queued"}) == 1
    assert registry.get_sample_value("accesscodes_events_total", {"outcome": "unmatched"}) == 1
    assert not [r for r in controller.records if r["event"] == "event_reconcile"]  # type: ignore[attr-defined]


def test_nothing_is_read_before_the_first_full_run(tmp_path: Path) -> None:
    provider, now = Listed(), [T0]
    controller = in_process(tmp_path, provider, now)
    controller.last_config = None
    assert asyncio.run(EventPoller(controller).poll_once()) == 0
    assert provider.since == []
