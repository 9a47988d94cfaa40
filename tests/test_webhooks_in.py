"""Seam's webhooks into the controller (issue #18): a signed event heals its device in seconds.

The controller runs as a real subprocess against Seam's fake server (through a counting proxy,
to see which calls reach Seam), with a one-hour resync interval: only the event can explain a
quick repair. Events are signed with the `svix` library, as Seam's are.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from controllerproc import Running, reconciled
from seamfake import SeamFake
from seamproxy import SeamProxy
from svix.webhooks import Webhook

SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()
CONFIG = """\
version: 1
provider: {kind: seam, retries: 0, pace_writes: after_429}
settings: {self_heal: restore}
devices:
  front:
    device_id: august_device_1
    codes:
      - {name: Alice, code: "482913"}
"""


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[tuple[Running, SeamFake, SeamProxy]]:
    (tmp_path / "accesscodes.yaml").write_text(CONFIG)
    with SeamFake() as fake, SeamProxy(fake.url) as proxy:
        env = {**fake.env, "SEAM_ENDPOINT": proxy.url, "SEAM_WEBHOOK_SECRET": SECRET}
        running = Running(tmp_path / "accesscodes.yaml", env=env, interval="1h")
        try:
            running.wait_for(reconciled, timeout=30)
            yield running, fake, proxy
        finally:
            running.stop()


def event_for(code: dict, kind: str = "access_code.deleted") -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": kind,
        "device_id": code["device_id"],
        "access_code_id": code["access_code_id"],
        "created_at": datetime.now(UTC).isoformat(),
        "workspace_id": "ws",
    }


def post(
    running: Running,
    body: bytes,
    *,
    secret: str | None = SECRET,
    sent_at: datetime | None = None,
    message_id: str | None = None,
) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        message_id = message_id or f"msg_{uuid.uuid4().hex}"
        moment = sent_at or datetime.now(UTC)
        headers |= {
            "svix-id": message_id,
            "svix-timestamp": str(int(moment.timestamp())),
            "svix-signature": Webhook(secret).sign(message_id, moment, body.decode()),
        }
    request = urllib.request.Request(
        f"http://127.0.0.1:{running.port}/webhooks/seam", data=body, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as err:
        return err.code


def remove_behind_its_back(fake: SeamFake) -> dict:
    (alice,) = fake.list_codes("august_device_1", managed=True)
    assert fake.post("access_codes/delete", {"access_code_id": alice["access_code_id"]}).ok
    assert fake.list_codes("august_device_1", managed=True) == []
    return alice


def wait_restored(fake: SeamFake, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if [c["name"] for c in fake.list_codes("august_device_1", managed=True)] == ["Alice"]:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"Alice was not restored within {timeout} s")


def test_a_signed_event_restores_a_removed_code_within_two_seconds(
    controller: tuple[Running, SeamFake, SeamProxy],
) -> None:
    running, fake, _ = controller
    alice = remove_behind_its_back(fake)
    assert post(running, json.dumps(event_for(alice)).encode()) == 200
    assert wait_restored(fake, timeout=2.0) < 2.0
    run = running.wait_for(lambda e: e["event"] == "event_reconcile")
    assert run["devices"] == ["august_device_1"]


@pytest.mark.parametrize("forgery", ["unsigned", "mis-signed", "too old"])
def test_an_event_without_a_good_signature_is_401_and_reaches_no_lock(
    controller: tuple[Running, SeamFake, SeamProxy], forgery: str
) -> None:
    running, fake, proxy = controller
    alice = remove_behind_its_back(fake)
    calls = sum(proxy.seen.values())
    body = json.dumps(event_for(alice)).encode()
    if forgery == "unsigned":
        status = post(running, body, secret=None)
    elif forgery == "mis-signed":
        status = post(running, body, secret="whsec_" + base64.b64encode(os.urandom(24)).decode())
    else:
        status = post(running, body, sent_at=datetime.now(UTC) - timedelta(minutes=10))
    assert status == 401
    time.sleep(1.0)
    assert sum(proxy.seen.values()) == calls  # no call to Seam
    assert fake.list_codes("august_device_1", managed=True) == []
    assert not [e for e in running.events if e["event"] == "event_reconcile"]


def test_one_event_delivered_three_times_is_answered_three_times_and_acted_on_once(
    controller: tuple[Running, SeamFake, SeamProxy],
) -> None:
    running, fake, _ = controller
    alice = remove_behind_its_back(fake)
    body = json.dumps(event_for(alice)).encode()
    assert [post(running, body) for _ in range(3)] == [200, 200, 200]
    wait_restored(fake, timeout=2.0)
    running.wait_for(lambda e: e["event"] == "event_reconcile")
    _, metrics = running.get("/metrics")
    assert 'accesscodes_events_total{outcome="queued"} 1.0' in metrics
    assert 'accesscodes_events_total{outcome="duplicate"} 2.0' in metrics
    assert len(fake.list_codes("august_device_1", managed=True)) == 1


def test_a_body_that_is_not_an_event_is_400_and_one_over_a_mebibyte_is_413(
    controller: tuple[Running, SeamFake, SeamProxy],
) -> None:
    running, _, _ = controller
    assert post(running, b'{"hello": "world"}') == 400
    assert post(running, b"[1, 2") == 400
    assert post(running, b'{"x": "' + b"a" * (1024 * 1024 + 10) + b'"}') == 413
    status, metrics = running.get("/metrics")
    assert status == 200
    assert 'accesscodes_events_total{outcome="bad_body"} 2.0' in metrics


def test_a_posted_unlock_shows_in_history_usage_by_name_and_never_the_pin(
    controller: tuple[Running, SeamFake, SeamProxy], tmp_path: Path
) -> None:
    running, fake, _ = controller
    (alice,) = fake.list_codes("august_device_1", managed=True)
    unlock = {**event_for(alice, "lock.unlocked"), "method": "keycode"}
    assert post(running, json.dumps(unlock).encode()) == 200
    running.wait_for(lambda e: e["event"] == "unlock")
    shown = subprocess.run(
        [sys.executable, "-m", "reconciler", "history", "--usage", "-c", "accesscodes.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    line = next(ln for ln in shown.stdout.splitlines() if "Alice" in ln)
    assert "front" in line
    assert "482913" not in shown.stdout + shown.stderr
    _, metrics = running.get("/metrics")
    assert 'accesscodes_unlocks_total{device="front"} 1.0' in metrics
