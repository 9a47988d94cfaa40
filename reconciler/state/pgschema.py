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
from reconciler.state.tables import tables

MIGRATION_LOCK = 0x61636373  # "accs": the advisory lock key the migrations take turns by

JOURNAL = (
    tables("postgresql")
    + """
CREATE TABLE state_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
)

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
