"""A code removed at the keypad is `missing` drift until it is back, and not after."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CliRunner

pytestmark = pytest.mark.timeout(120)
NOW = "2026-11-23T15:00:00Z"


def missing(cli: CliRunner, folder: Path) -> list[str]:
    plan = cli("plan", "-c", str(folder), "--now", NOW, "--format", "json")
    assert plan.code == 0, plan.output
    return [d["name"] for d in json.loads(plan.out)["drift"] if d["kind"] == "missing"]


def test_a_removed_code_put_back_is_no_longer_missing(cli: CliRunner, quickstart: Path) -> None:
    assert cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve").code == 0
    tamper = ("sim", "tamper", "-c", str(quickstart), "remove", "august_front")
    assert cli(*tamper, "Alice (resident)").code == 0
    assert missing(cli, quickstart) == ["Alice (resident)"]

    restored = cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve")
    assert restored.code == 0, restored.output
    assert "front-door / Alice (resident): create ok" in restored.out
    assert missing(cli, quickstart) == []  # the old id's record went with the new code
