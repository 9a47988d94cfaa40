"""The PostgreSQL state store's schema, as numbered migrations run on start.

Each migration runs once, in order, in one transaction with its number recorded in
`schema_migrations`; several processes starting at once take turns through a transaction-level
advisory lock (never a session-level one, which a pooled connection would keep after it went
back to the pool). A database migrated by a newer accesscodes (a number this one does not know)
is refused rather than written with an older idea of its tables. A change to the schema is a
new migration at the end of `MIGRATIONS`, never an edit of one that has shipped.

The journal's tables have the SQLite store's columns and keep its times as ISO 8601 text, so the
two read back the same; the tables only PostgreSQL has (leases, replicas, the event queue) keep
`timestamptz` set from the database's clock (`now()`), which is the one clock replicas share.
"""

from __future__ import annotations

import psycopg

from reconciler.core.errors import StateUnavailable

MIGRATION_LOCK = 0x61636373  # "accs": the advisory lock key the migrations take turns by

JOURNAL = """
CREATE TABLE runs (
    id BIGSERIAL PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    actor TEXT NOT NULL,
    command TEXT NOT NULL,
    plan_checksum TEXT,
    outcome TEXT NOT NULL DEFAULT 'running'
);
CREATE TABLE changes (
    id BIGSERIAL PRIMARY KEY,
    run_id BIGINT NOT NULL REFERENCES runs(id),
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
CREATE INDEX changes_run ON changes (run_id);
CREATE TABLE written (
    access_code_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    name TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    written_at TEXT NOT NULL,
    ends_at TEXT,
    pin_fingerprint TEXT,
    starts_at TEXT
);
CREATE INDEX written_device ON written (device_id);
CREATE TABLE backup_pulls (
    access_code_id TEXT PRIMARY KEY,
    run_id BIGINT,
    at TEXT NOT NULL,
    device_id TEXT NOT NULL,
    name TEXT NOT NULL,
    outcome TEXT NOT NULL,
    backup_access_code_id TEXT,
    message TEXT
);
CREATE TABLE pins (
    holder TEXT PRIMARY KEY,
    sealed TEXT,
    state TEXT NOT NULL DEFAULT 'kept',
    updated_at TEXT NOT NULL
);
CREATE TABLE source_cache (
    name TEXT PRIMARY KEY,
    body BYTEA,
    etag TEXT,
    last_modified TEXT,
    good_at TEXT,
    checked_at TEXT,
    error TEXT,
    stays INTEGER NOT NULL DEFAULT 0,
    held_body BYTEA,
    held_since TEXT,
    held_reason TEXT,
    cancelled TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE events_seen (
    event_id TEXT PRIMARY KEY,
    seen_at TEXT NOT NULL
);
CREATE TABLE usage (
    id BIGSERIAL PRIMARY KEY,
    event_id TEXT UNIQUE,
    at TEXT NOT NULL,
    device TEXT,
    device_id TEXT NOT NULL,
    access_code_id TEXT NOT NULL,
    name TEXT
);
CREATE TABLE event_cursor (
    name TEXT PRIMARY KEY,
    since TEXT NOT NULL
);
CREATE TABLE state_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

REPLICAS = """
CREATE TABLE replicas (
    replica_id TEXT PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE device_leases (
    device_id TEXT PRIMARY KEY,
    holder TEXT,
    term BIGINT NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ,
    acquired_at TIMESTAMPTZ,
    reconciled_at TIMESTAMPTZ
);
CREATE INDEX device_leases_holder ON device_leases (holder);
CREATE TABLE event_queue (
    id BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    device_id TEXT,
    event TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    received_by TEXT
);
CREATE INDEX event_queue_device ON event_queue (device_id);
"""

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "the journal, PINs, feed caches and event log", JOURNAL),
    (2, "controller replicas: leases, members and the shared event queue", REPLICAS),
)


def migrate(connection: psycopg.Connection) -> list[int]:
    """Bring the schema up to date; the numbers of the migrations this call ran."""
    ran = []
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
        known = {number for number, _, _ in MIGRATIONS}
        if done - known:
            raise StateUnavailable(
                f"the state database has schema version {max(done)}, newer than this "
                f"accesscodes knows ({max(known)}): upgrade accesscodes; nothing was written"
            )
        for number, description, sql in MIGRATIONS:
            if number in done:
                continue
            connection.execute(sql)
            connection.execute(
                "INSERT INTO schema_migrations (version, description) VALUES (%s, %s)",
                (number, description),
            )
            ran.append(number)
    return ran
