"""A code changed behind our back names what changed: the PIN (never shown) and the window.

The journal keeps, per code written, a fingerprint of the PIN alone and the window in the
clear beside the fingerprint of all three; a database of an older version gains the columns
when opened and its rows keep today's words until the code is written again.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import CliRunner

from reconciler.core.models import AccessCodeId, DeviceId, LiveCode, WrittenCode
from reconciler.planning.drift import CHANGED_OUTSIDE, LastWritten
from reconciler.state.journal import Journal

pytestmark = pytest.mark.timeout(120)

NOW = "2026-11-29T15:00:00Z"  # Guest Bob's code is on the lock (written 72 h ahead)
PINS = ("482913", "639027", "111222")
OLD_WRITTEN = """
CREATE TABLE written_old (
    access_code_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    name TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    written_at TEXT NOT NULL,
    ends_at TEXT
);
INSERT INTO written_old
    SELECT access_code_id, device_id, name, fingerprint, written_at, ends_at FROM written;
DROP TABLE written;
ALTER TABLE written_old RENAME TO written;
"""


def applied(cli: CliRunner, quickstart: Path) -> Path:
    """The quickstart applied on the simulator at NOW; its state file."""
    result = cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve")
    assert result.code == 0, result.output
    return quickstart / ".accesscodes" / "sim.json"


def on_keypad(state_file: Path, name: str, **values: str) -> None:
    """Change a front-door code on the simulated lock, as a keypad or vendor app would."""
    state = json.loads(state_file.read_text())
    code = next(c for c in state["devices"]["august_front"]["codes"] if c["name"] == name)
    code.update(values)
    state_file.write_text(json.dumps(state))


def drift(cli: CliRunner, quickstart: Path) -> dict[str, str]:
    result = cli("plan", "-c", str(quickstart), "--now", NOW, "--format", "json")
    assert result.code == 0, result.output
    for pin in PINS:
        assert pin not in result.output
    return {d["name"]: d["detail"] for d in json.loads(result.out)["drift"]}


def test_a_pin_changed_on_the_keypad_says_the_pin_and_never_shows_it(
    cli: CliRunner, quickstart: Path
) -> None:
    on_keypad(applied(cli, quickstart), "Alice (resident)", code="111222")
    assert drift(cli, quickstart) == {"Alice (resident)": "changed outside accesscodes: code (PIN)"}


def test_a_window_moved_in_the_vendor_app_says_old_and_new(
    cli: CliRunner, quickstart: Path
) -> None:
    on_keypad(applied(cli, quickstart), "Guest Bob", ends_at="2026-12-05T16:00:00Z")
    assert drift(cli, quickstart) == {
        "Guest Bob": "changed outside accesscodes: "
        "ends_at 2026-12-04T16:00:00Z -> 2026-12-05T16:00:00Z"
    }


def test_pin_and_window_changed_together_name_both(cli: CliRunner, quickstart: Path) -> None:
    on_keypad(
        applied(cli, quickstart),
        "Guest Bob",
        code="111222",
        starts_at="2026-12-02T20:00:00Z",
        ends_at="2026-12-05T16:00:00Z",
    )
    assert drift(cli, quickstart) == {
        "Guest Bob": "changed outside accesscodes: code (PIN), "
        "starts_at 2026-12-01T20:00:00Z -> 2026-12-02T20:00:00Z, "
        "ends_at 2026-12-04T16:00:00Z -> 2026-12-05T16:00:00Z"
    }


def test_an_older_database_gains_the_columns_and_its_rows_keep_todays_words(
    cli: CliRunner, quickstart: Path
) -> None:
    state_file = applied(cli, quickstart)
    database = quickstart / ".accesscodes" / "state.db"
    with sqlite3.connect(database) as db:  # as an older version wrote it
        db.executescript(OLD_WRITTEN)
    on_keypad(state_file, "Alice (resident)", code="111222")
    assert drift(cli, quickstart) == {"Alice (resident)": CHANGED_OUTSIDE}
    with sqlite3.connect(database) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(written)")}
        assert {"pin_fingerprint", "starts_at"} <= columns  # added when the plan opened it
    fixed = cli("apply", "-c", str(quickstart), "--now", NOW, "--auto-approve")
    assert fixed.code == 0, fixed.output  # Alice's PIN written back: her row is new again
    on_keypad(state_file, "Alice (resident)", code="111222")
    assert drift(cli, quickstart) == {"Alice (resident)": "changed outside accesscodes: code (PIN)"}
    content = database.read_bytes()
    assert not any(pin.encode() in content for pin in PINS)


def test_the_journal_reads_back_what_it_kept_and_a_plain_record_falls_back(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "state.db", key=b"k" * 32)
    start = datetime(2026, 12, 1, 20, tzinfo=UTC)
    end = datetime(2026, 12, 4, 16, tzinfo=UTC)
    mark = journal.fingerprint("736194", start, end)
    lock, code_id = DeviceId("lock_1"), AccessCodeId("ac_1")
    pin_mark = journal.pin_fingerprint("736194")
    journal.remember(
        WrittenCode(
            code_id, lock, "Bob", mark, start, end, pin_fingerprint=pin_mark, starts_at=start
        )
    )
    records = journal.written([lock])
    kept = LastWritten(records, journal.fingerprint)
    moved = LiveCode(code_id, lock, "Bob", "736194", starts_at=None, ends_at=end)
    assert kept.changed_outside(moved)
    assert kept.changed_fields(moved) == (
        "changed outside accesscodes: starts_at 2026-12-01T20:00:00Z -> none"
    )
    plain = {code_id: WrittenCode(code_id, lock, "Bob", mark, start, end)}
    assert LastWritten(plain, journal.fingerprint).changed_fields(moved) == CHANGED_OUTSIDE
    journal.close()
