"""`accesscodes webhooks setup --url URL` (issue #18) against Seam's fake server.

The fake keeps webhooks per workspace and refuses event types it does not know
(`invalid_event_types`), so a create that succeeds shows Seam takes every type we ask for;
each is also checked against Seam's OpenAPI spec.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
from conftest import CliRunner
from seamfake import FAKE_DIR, SeamFake

from reconciler.providers.seam_events import WEBHOOK_EVENT_TYPES

URL = "https://locks.example.com/webhooks/seam"
SEAM_CONFIG = "version: 1\nprovider: {kind: seam, retries: 0}\ndevices:\n  front:\n"
SEAM_CONFIG += "    device_id: august_device_1\n"


def test_setup_creates_the_webhook_once_and_then_reports_it(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "accesscodes.yaml").write_text(SEAM_CONFIG)
    with SeamFake() as fake:
        first = cli("webhooks", "setup", "--url", URL, env=fake.env)
        assert first.code == 0, first.output
        (hook,) = fake.post("webhooks/list", {}).json["webhooks"]
        assert hook["url"] == URL
        assert sorted(hook["event_types"]) == sorted(WEBHOOK_EVENT_TYPES)
        assert f"Created Seam webhook {hook['webhook_id']} for {URL}" in first.out
        assert "SEAM_WEBHOOK_SECRET" in first.out
        secret = hook["secret"]
        assert secret not in first.output and "****" in first.out

        again = cli("webhooks", "setup", "--url", URL + "/", env=fake.env)
        assert again.code == 0, again.output
        assert "already posts to" in again.out and "nothing created" in again.out
        assert len(fake.post("webhooks/list", {}).json["webhooks"]) == 1
        assert secret not in again.output

        shown = cli("webhooks", "setup", "--url", URL, "--show-secret", env=fake.env)
        assert shown.code == 0 and secret in shown.out
        assert len(fake.post("webhooks/list", {}).json["webhooks"]) == 1


def test_an_existing_webhook_lacking_our_events_is_reported_not_replaced(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text(SEAM_CONFIG)
    with SeamFake() as fake:
        body = {"url": URL, "event_types": ["lock.unlocked"]}
        assert fake.post("webhooks/create", body).ok
        result = cli("webhooks", "setup", "--url", URL, env=fake.env)
        assert result.code == 0, result.output
        assert "It does not receive access_code.created" in result.out
        assert len(fake.post("webhooks/list", {}).json["webhooks"]) == 1


def test_the_simulator_has_no_webhooks_and_a_bad_url_is_refused(
    cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "accesscodes.yaml").write_text("version: 1\ndevices:\n  front:\n    device_id: a\n")
    result = cli("webhooks", "setup", "--url", URL)
    assert result.code == 1
    assert "webhooks need provider: seam" in result.err
    (tmp_path / "accesscodes.yaml").write_text(SEAM_CONFIG)
    result = cli("webhooks", "setup", "--url", "ftp://x", env={"SEAM_API_KEY": "k"})
    assert result.code == 1 and "http(s) URL" in result.err


def test_every_event_type_we_ask_for_is_one_of_seams() -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed (Seam's OpenAPI spec)"
    out = subprocess.run(
        [node, str(FAKE_DIR / "openapi.mjs"), "/webhooks/create", "/events/list"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    schemas = json.loads(out)
    jsonschema.validate(
        {"url": URL, "event_types": list(WEBHOOK_EVENT_TYPES)}, schemas["/webhooks/create"]
    )
    known = set(schemas["/events/list"]["properties"]["event_type"]["enum"])
    assert set(WEBHOOK_EVENT_TYPES) <= known
    assert all(t.startswith(("access_code.", "lock.", "device.")) for t in WEBHOOK_EVENT_TYPES)
