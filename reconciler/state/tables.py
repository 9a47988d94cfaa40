"""The state store's tables, written once for both engines: the SQLite file creates them when
missing (`state.sqlitefile`), PostgreSQL's first migration creates them (`state.pgschema`).

The few types the engines name differently are placeholders (`{serial}`, `{bigint}`, `{blob}`).
A later change to a table is a new PostgreSQL migration and a column added on open in SQLite
(`sqlitefile.WRITTEN_COLUMNS`), never an edit of these definitions, which both have shipped.
Times are ISO 8601 text on both, so the two read back the same.
"""

from __future__ import annotations

TABLES = """
CREATE TABLE IF NOT EXISTS runs (
    id {serial},
    started_at TEXT NOT NULL,
    finished_at TEXT,
    actor TEXT NOT NULL,
    command TEXT NOT NULL,
    plan_checksum TEXT,
    outcome TEXT NOT NULL DEFAULT 'running'
);
CREATE TABLE IF NOT EXISTS changes (
    id {serial},
    run_id {bigint} NOT NULL REFERENCES runs(id),
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
    run_id {bigint},
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
    body {blob},
    etag TEXT,
    last_modified TEXT,
    good_at TEXT,
    checked_at TEXT,
    error TEXT,
    stays INTEGER NOT NULL DEFAULT 0,
    held_body {blob},
    held_since TEXT,
    held_reason TEXT,
    cancelled TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS events_seen (
    event_id TEXT PRIMARY KEY,
    seen_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS usage (
    id {serial},
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
CREATE INDEX IF NOT EXISTS changes_run ON changes (run_id);
CREATE INDEX IF NOT EXISTS written_device ON written (device_id);
"""

TYPES = {
    "sqlite": {"serial": "INTEGER PRIMARY KEY", "bigint": "INTEGER", "blob": "BLOB"},
    "postgresql": {"serial": "BIGSERIAL PRIMARY KEY", "bigint": "BIGINT", "blob": "BYTEA"},
}


def tables(dialect: str) -> str:
    """The tables' DDL in one engine's words."""
    return TABLES.format(**TYPES[dialect])
