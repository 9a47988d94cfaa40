"""The journal records every apply, never a PIN, and tells keypad edits from config edits."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from conftest import CliRunner

# No test here may hang the suite: each test waits on accesscodes subprocesses (60 s each at most).
pytestmark = pytest.mark.timeout(120)

NOW = "2026-11-23T15:00:00Z"


@pytest.mark.usefixtures("state")
def test_history_lists_each_apply_and_its_changes(cli: CliRunner, quickstart: Path) -> None:
    assert cli("history", "-c", str(quickstart)).out == "No applies recorded yet.\n"
    cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve")
    history = cli("history", "-c", str(quickstart))
    assert history.code == 0
    assert "run 1  2026-11-23T15:00:00Z" in history.out and "apply  ok" in history.out
    assert "front-door / Alice (resident): create ok" in history.out
    assert history.out.count(": create ok") == 3


def test_plan_never_creates_the_journal(cli: CliRunner, quickstart: Path) -> None:
    cli("plan", "-c", str(quickstart), "--now", NOW)
    assert not (quickstart / ".accesscodes" / "state.db").exists()


def test_the_journal_holds_no_pin(cli: CliRunner, quickstart: Path, state: str | None) -> None:
    cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve")
    database = (quickstart / ".accesscodes" / "state.db").read_bytes() if not state else b""
    if state:  # every row of every table, as text
        with psycopg.connect(state) as connection:
            tables = connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
            for (table,) in tables:
                rows = connection.execute(f"SELECT * FROM {table}").fetchall()
                database += repr(rows).encode()
        assert b"front-door" in database  # the rows are there, only no PIN in them
    for pin in (b"482913", b"639027"):
        assert pin not in database
    key = quickstart / ".accesscodes" / "journal.key"
    assert key.stat().st_mode & 0o777 == 0o600


@pytest.mark.usefixtures("state")
def test_a_pin_changed_on_the_keypad_is_drift(cli: CliRunner, quickstart: Path) -> None:
    cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve")
    state_file = quickstart / ".accesscodes" / "sim.json"
    state = json.loads(state_file.read_text())
    state["devices"]["august_front"]["codes"][0]["code"] = "905172"
    state_file.write_text(json.dumps(state))
    plan = json.loads(cli("plan", "-c", str(quickstart), "--now", NOW, "--format", "json").out)
    assert [(d["device"], d["name"], d["kind"]) for d in plan["drift"]] == [
        ("front-door", "Alice (resident)", "modified_externally")
    ]
    assert "905172" not in json.dumps(plan)
