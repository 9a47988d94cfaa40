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

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    actor TEXT NOT NULL,
    command TEXT NOT NULL,
    plan_checksum TEXT,
    outcome TEXT NOT NULL DEFAULT 'running'
);
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    at TEXT NOT NULL,
    device TEXT NOT NULL,
    device_id TEXT NOT NULL,
    name TEXT NOT NULL,
    occurrence TEXT,
    action TEXT NOT NULL,
    access_code_id TEXT,
    status TEXT NOT NULL DEFAULT 'sending',
    error_code TEXT,
    message TEXT
);
CREATE TABLE IF NOT EXISTS written (
    access_code_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    name TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    written_at TEXT NOT NULL,
    ends_at TEXT,
    pin_fingerprint TEXT,
    starts_at TEXT
);
CREATE TABLE IF NOT EXISTS backup_pulls (
    access_code_id TEXT PRIMARY KEY,
    run_id INTEGER,
    at TEXT NOT NULL,
    device_id TEXT NOT NULL,
    name TEXT NOT NULL,
    outcome TEXT NOT NULL,
    backup_access_code_id TEXT,
    message TEXT
);
CREATE TABLE IF NOT EXISTS pins (
    holder TEXT PRIMARY KEY,
    sealed TEXT,
    state TEXT NOT NULL DEFAULT 'kept',
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS source_cache (
    name TEXT PRIMARY KEY,
    body BLOB,
    etag TEXT,
    last_modified TEXT,
    good_at TEXT,
    checked_at TEXT,
    error TEXT,
    stays INTEGER NOT NULL DEFAULT 0,
    held_body BLOB,
    held_since TEXT,
    held_reason TEXT,
    cancelled TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS events_seen (
    event_id TEXT PRIMARY KEY,
    seen_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY,
    event_id TEXT UNIQUE,
    at TEXT NOT NULL,
    device TEXT,
    device_id TEXT NOT NULL,
    access_code_id TEXT NOT NULL,
    name TEXT
);
CREATE TABLE IF NOT EXISTS event_cursor (
    name TEXT PRIMARY KEY,
    since TEXT NOT NULL
);
"""
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
