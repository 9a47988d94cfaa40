"""The controller: drift reported and healed per policy, config reloads, due times, signals."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import CliRunner
from controllerproc import Running, reconciled
from seamfake import SeamFake

from reconciler.controller.loop import Controller


def sim_codes(folder: Path, device_id: str) -> list[str]:
    state = json.loads((folder / ".accesscodes" / "sim.json").read_text())
    return sorted(c["name"] for c in state["devices"][device_id]["codes"])


def test_restore_recreates_a_removed_code_and_keeps_an_extraneous_one(
    cli: CliRunner, quickstart: Path
) -> None:
    config = quickstart / "accesscodes.yaml"
    extra = config.read_text().replace(
        "  back-door:", '      - {name: Old guest, code: "375102"}\n  back-door:'
    )
    config.write_text(extra)
    assert cli("apply", "-c", str(quickstart), "--auto-approve").code == 0
    config.write_text(extra.replace('      - {name: Old guest, code: "375102"}\n', ""))
    cli("sim", "tamper", "-c", str(quickstart), "remove", "august_front", "Alice (resident)")

    running = Running(quickstart)
    try:
        running.wait_for(lambda e: e["event"] == "drift" and e["kind"] == "missing")
        running.wait_for(lambda e: e["event"] == "drift" and e["kind"] == "extraneous")
        status, metrics = running.get("/metrics")
        assert status == 200 and 'accesscodes_drift{kind="missing"} 1' in metrics
        healed = running.wait_for(lambda e: e["event"] == "change" and e["action"] == "create")
        assert healed["name"] == "Alice (resident)" and healed["result"] == "ok"
        running.wait_for(reconciled)
        assert running.get("/healthz")[0] == 200
        assert running.get("/readyz")[0] == 200
    finally:
        assert running.stop() == 0
    assert "Alice (resident)" in sim_codes(quickstart, "august_front")
    assert "Old guest" in sim_codes(quickstart, "august_front")  # restore never deletes
    assert not any(e["event"] == "change" and e["action"] == "delete" for e in running.events)


def test_report_changes_nothing(cli: CliRunner, quickstart: Path) -> None:
    assert cli("apply", "-c", str(quickstart), "--auto-approve").code == 0
    config = quickstart / "accesscodes.yaml"
    config.write_text(
        config.read_text().replace("  prune: false", "  prune: false\n  self_heal: report")
    )
    cli("sim", "tamper", "-c", str(quickstart), "remove", "august_front", "Alice (resident)")
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "controller", "-c", str(quickstart), "--once"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(e["event"] == "drift" and e["kind"] == "missing" for e in events)
    assert not any(e["event"] == "change" for e in events)
    assert "Alice (resident)" not in sim_codes(quickstart, "august_front")


def test_a_config_edit_is_applied_without_a_restart(cli: CliRunner, quickstart: Path) -> None:
    running = Running(quickstart, interval="10m")
    try:
        running.wait_for(reconciled)
        config = quickstart / "accesscodes.yaml"
        config.write_text(
            config.read_text().replace(
                "  back-door:", '      - {name: Dana, code: "507318"}\n  back-door:'
            )
        )
        running.wait_for(lambda e: e["event"] == "change" and e["name"] == "Dana")
    finally:
        assert running.stop() == 0
    assert "Dana" in sim_codes(quickstart, "august_front")


def test_against_the_fake_seam_server_drift_is_healed_and_readyz_follows_the_provider(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(
        "version: 1\nprovider: {kind: seam, retries: 0}\ndevices:\n  door:\n"
        '    device_id: august_device_1\n    codes:\n      - {name: Alice, code: "482913"}\n'
    )
    with SeamFake() as fake:
        assert cli("apply", "--auto-approve", env=fake.env).code == 0
        (alice,) = fake.list_codes("august_device_1", managed=True)
        fake.post("access_codes/delete", {"access_code_id": alice["access_code_id"]})
        running = Running(tmp_path / "accesscodes.yaml", env=fake.env)
        try:
            running.wait_for(lambda e: e["event"] == "drift" and e["kind"] == "missing")
            assert 'accesscodes_drift{kind="missing"} 1' in running.get("/metrics")[1]
            running.wait_for(lambda e: e["event"] == "change" and e["result"] == "ok")
            running.wait_for(reconciled)
            assert running.get("/readyz")[0] == 200
            fake.simulate_outage(["devices/list"])
            running.wait_for(lambda e: e["event"] == "provider_error")
            assert running.get("/readyz")[0] == 503
            assert running.get("/healthz")[0] == 200
            assert "accesscodes_provider_errors_total" in running.get("/metrics")[1]
        finally:
            fake.clear_outage()
            assert running.stop() == 0
        assert [c["name"] for c in fake.list_codes("august_device_1", managed=True)] == ["Alice"]


def test_a_deferred_code_is_created_at_its_due_time_not_at_the_interval(
    quickstart: Path,
) -> None:
    now = [datetime(2026, 11, 24, 12, 0, tzinfo=UTC)]
    waits: list[float] = []

    async def wait(seconds: float) -> None:  # the injected sleep moves the fake clock
        waits.append(seconds)
        now[0] += timedelta(seconds=seconds)
        if len(waits) == 2:
            controller.stop()

    controller = Controller(
        quickstart,
        interval=24 * 3600,
        clock=lambda: now[0],
        wait=wait,
        emit=lambda record: None,
        jitter=0,
    )
    asyncio.run(controller.run())
    # The back door's cleaner (just-in-time lock) is due at 14:30Z, 2.5 h later: the controller
    # slept until then, not for its 24 h interval, and created the code at that time.
    assert waits[0] == 2.5 * 3600
    state = json.loads((quickstart / ".accesscodes" / "sim.json").read_text())
    cleaners = [c for c in state["devices"]["ultraloq_back"]["codes"] if c["name"] == "Cleaner"]
    assert [c["created_at"] for c in cleaners] == ["2026-11-24T14:30:00Z"]


def test_the_readme_controller_command_runs(quickstart: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    line = next(ln for ln in readme.splitlines() if ln.startswith("accesscodes controller"))
    args = line.split()[1:]
    args[args.index("examples/quickstart")] = str(quickstart)
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", *args, "--once"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("tamper", ["disable", "fail"])
def test_tamper_actions_show_as_drift(cli: CliRunner, quickstart: Path, tamper: str) -> None:
    cli("apply", "-c", str(quickstart), "--auto-approve")
    cli("sim", "tamper", "-c", str(quickstart), tamper, "ultraloq_back", "Alice (resident)")
    plan = json.loads(cli("plan", "-c", str(quickstart), "--format", "json").out)
    kinds = {d["kind"] for d in plan["drift"]}
    assert {"disable": "disabled_in_vendor_app", "fail": "failed_to_set"}[tamper] in kinds


def test_new_drift_is_posted_to_the_webhook_once(cli: CliRunner, quickstart: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = quickstart / "accesscodes.yaml"
        config.write_text(
            config.read_text().replace(
                "  prune: false",
                "  prune: false\n  self_heal: report\n"
                f"  webhook_url: http://127.0.0.1:{server.server_address[1]}/hook",
            )
        )
        cli("apply", "-c", str(quickstart), "--auto-approve")
        cli(
            "sim",
            "tamper",
            "-c",
            str(quickstart),
            "change-pin",
            "august_front",
            "Alice (resident)",
            "--code",
            "905172",
        )
        command = [
            sys.executable,
            "-m",
            "reconciler",
            "controller",
            "-c",
            str(quickstart),
            "--once",
        ]
        assert subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    finally:
        server.shutdown()
    (message,) = received
    assert "modified_externally" in message["text"] and "Alice (resident)" in message["text"]
    assert "905172" not in json.dumps(message) and "482913" not in json.dumps(message)
