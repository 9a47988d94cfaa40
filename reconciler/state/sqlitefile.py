"""The local state file (SQLite), the default store: its tables and how it is opened.

The file is made 0600 before SQLite opens it (SQLite would create it, and its -wal and -shm
files, with the umask's mode), in a 0700 folder, in WAL mode. Schema changes are tables created
when missing and columns added on open when missing (`WRITTEN_COLUMNS`), so a database of an
older version keeps working; its rows without the new values read back as None, and drift on
them says what it said before ("PIN or window changed"). The PostgreSQL store has the same
tables as numbered migrations (`state.pgschema`).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from reconciler.state.database import SqliteDatabase
from reconciler.state.privatefile import FILE_MODE, private_dir, tighten_file
from reconciler.state.tables import tables

SCHEMA = tables("sqlite")
# Columns added after the first version, added on open to an older database (`_migrate`).
WRITTEN_COLUMNS = {"pin_fingerprint": "TEXT", "starts_at": "TEXT"}


def open_sqlite(path: Path) -> SqliteDatabase:
    """The state file at `path`, private, created and brought up to date if need be."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    tighten_file(path)
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.executescript(SCHEMA)
    _migrate(connection)
    for suffix in ("-wal", "-shm"):
        tighten_file(path.with_name(path.name + suffix))
    return SqliteDatabase(connection)


def _migrate(connection: sqlite3.Connection) -> None:
    """Add the columns an older version's database lacks (each run may race another process
    opening the same file: a column the other added first is fine)."""
    have = {row[1] for row in connection.execute("PRAGMA table_info(written)")}
    for name, kind in WRITTEN_COLUMNS.items():
        if name in have:
            continue
        try:
            connection.execute(f"ALTER TABLE written ADD COLUMN {name} {kind}")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):
                raise
