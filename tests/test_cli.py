"""The CLI as users run it: real subprocesses on real files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import CliRunner

# Every test here waits on `accesscodes` subprocesses (60 s each at most, conftest.py).
pytestmark = pytest.mark.timeout(120)

NOW = "2026-11-23T15:00:00Z"


def test_quickstart_plans_applies_and_then_plans_empty(cli: CliRunner, quickstart: Path) -> None:
    first = cli("plan", "-c", str(quickstart), "--now", NOW, "--detailed-exitcode")
    assert first.code == 2, first.output
    assert "Plan: 3 to create" in first.out

    applied = cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve")
    assert applied.code == 0, applied.output
    assert "Apply complete: 3 created, 0 updated, 0 deleted, 0 failed, 0 skipped, 0 unknown." in (
        applied.out
    )
    assert (quickstart / ".accesscodes" / "sim.json").exists()

    again = cli("plan", "-c", str(quickstart), "--now", NOW, "--detailed-exitcode")
    assert again.code == 0, again.output
    assert "0 to create, 0 to update, 0 to delete" in again.out


def test_deferred_code_is_created_once_due(cli: CliRunner, quickstart: Path) -> None:
    cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve")
    later = "2026-11-24T14:45:00Z"  # the back door's cleaner is due 30 min before 15:00Z
    plan = json.loads(cli("plan", "-c", str(quickstart), "--now", later, "--format", "json").out)
    due = [c for c in plan["changes"] if c["action"] == "create" and c["due_at"] is None]
    assert [(c["device"], c["name"]) for c in due] == [("back-door", "Cleaner")]
    assert cli("apply", "-c", str(quickstart), "--now", later, "--auto-approve").code == 0
    assert cli("plan", "-c", str(quickstart), "--now", later, "--detailed-exitcode").code == 0


def test_apply_refuses_without_a_terminal(cli: CliRunner, quickstart: Path) -> None:
    result = cli("apply", "-c", str(quickstart), "--now", NOW)
    assert result.code == 1
    assert "--auto-approve" in result.err
    assert not (quickstart / ".accesscodes" / "sim.json").exists()


def test_plan_json_follows_the_contract(cli: CliRunner, quickstart: Path) -> None:
    result = cli("plan", "-c", str(quickstart), "--now", NOW, "--format", "json")
    assert result.code == 0, result.output
    data = json.loads(result.out)
    assert data["format_version"] == 1
    assert data["now"] == NOW
    assert set(data["summary"]) == {"create", "update", "delete", "noop", "deferred", "blocked"}
    assert data["summary"]["create"] == 3 and data["summary"]["deferred"] == 4
    for change in data["changes"]:
        assert {
            "action",
            "device",
            "device_id",
            "name",
            "access_code_id",
            "due_at",
            "reasons",
            "before",
            "after",
            "warnings",
        } <= set(change)
        assert change["after"]["code"] == "****"
    assert isinstance(data["drift"], list)


def test_plan_out_writes_a_masked_plan_file(cli: CliRunner, quickstart: Path, tmp_path: Path):
    out = tmp_path / "plan.json"
    result = cli("plan", "-c", str(quickstart), "--now", NOW, "--out", str(out), "--show-codes")
    assert result.code == 0
    assert "482913" in result.out  # the user asked to see codes on the terminal...
    saved = out.read_text()
    assert "482913" not in saved  # ...but a plan file never holds one
    assert json.loads(saved)["checksum"].startswith("sha256:")


def test_validate_reports_valid_config(cli: CliRunner, quickstart: Path) -> None:
    result = cli("validate", "-c", str(quickstart))
    assert result.code == 0
    assert "valid (2 devices, 5 codes)" in result.out


def test_missing_config_is_one_clear_error(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("plan")
    assert result.code == 1
    assert "accesscodes.yaml:1:1: no such config file" in result.err
    assert "Traceback" not in result.output


def test_schema_command_prints_the_committed_schema(cli: CliRunner) -> None:
    result = cli("schema")
    committed = Path(__file__).parent.parent / "schemas" / "accesscodes.schema.json"
    assert json.loads(result.out) == json.loads(committed.read_text())


def test_the_installed_console_script_runs_like_python_m(
    cli: CliRunner, quickstart: Path, tmp_path: Path
) -> None:
    script = shutil.which("accesscodes")
    assert script, "no `accesscodes` on PATH: install the package (pip install -e .)"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *args],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    version = run("--version")
    assert version.returncode == 0, version.stderr
    assert re.fullmatch(r"accesscodes \d+\.\d+\.\d+\n", version.stdout)
    assert version.stdout == cli("--version").out
    planned = run("plan", "-c", str(quickstart), "--now", NOW, "--detailed-exitcode")
    assert planned.returncode == 2, planned.stderr
    assert "Plan: 3 to create" in planned.stdout
    missing = run("plan", "-c", str(tmp_path / "nowhere.yaml"))
    assert missing.returncode == 1
    assert "nowhere.yaml:1:1: no such config file" in missing.stderr
