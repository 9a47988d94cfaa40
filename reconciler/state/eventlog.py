"""What the state store keeps of Seam's events: ids acted on, door usage, the poll cursor.

- `events_seen`: each `event_id` acted on, so an event Seam delivers again (it retries for
  about a day), or that two overlapping `events/list` windows both return, is acted on once,
  across restarts too; ids older than the retries are forgotten.
- `usage`: who opened which door when (`lock.unlocked` with an `access_code_id`), by the
  code's name as we wrote it, never a PIN. Usage only informs: nothing reads it to change a code.
- `event_cursor`: the last event time read from `events/list`, which has no cursor but `since`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.core.plan import from_iso, iso
from reconciler.state.database import Database

FORGET_AFTER = timedelta(days=3)


@dataclass(frozen=True)
class Unlock:
    """One door opened with one code."""

    at: str
    device: str | None
    device_id: str
    access_code_id: str
    name: str | None


class EventLog:
    """The event tables of the state database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def first_time(self, event_ids: Iterable[str], now: datetime) -> set[str]:
        """The ids not acted on before, now marked as acted on (older marks are forgotten)."""
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return set()
        forget = ("DELETE FROM events_seen WHERE seen_at < ?", (iso(now - FORGET_AFTER),))
        if self._db.dialect == "postgresql":  # replicas at once: the insert alone decides
            self._db.execute(*forget)
            return {
                row[0]
                for event_id in ids
                for row in self._db.execute(
                    "INSERT INTO events_seen (event_id, seen_at) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING RETURNING event_id",
                    (event_id, iso(now)),
                )
            }
        with self._db.transaction():  # one process writes the SQLite file at a time
            self._db.execute(*forget)
            placeholders = ",".join("?" * len(ids))
            seen = {
                row[0]
                for row in self._db.execute(
                    f"SELECT event_id FROM events_seen WHERE event_id IN ({placeholders})", ids
                )
            }
            fresh = [i for i in ids if i not in seen]
            self._db.executemany(
                "INSERT INTO events_seen (event_id, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(i, iso(now)) for i in fresh],
            )
        return set(fresh)

    def record_unlock(self, event_id: str, unlock: Unlock) -> None:
        """Keep one unlock (once per event)."""
        self._db.execute(
            "INSERT INTO usage (event_id, at, device, device_id, access_code_id, name) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                event_id,
                unlock.at,
                unlock.device,
                unlock.device_id,
                unlock.access_code_id,
                unlock.name,
            ),
        )

    def usage(self, limit: int = 50) -> list[Unlock]:
        """The latest unlocks, newest first."""
        rows = self._db.execute(
            "SELECT at, device, device_id, access_code_id, name FROM usage "
            "ORDER BY at DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [Unlock(*row) for row in rows]

    def cursor(self, name: str) -> datetime | None:
        """Where reading `events/list` left off."""
        rows = self._db.execute("SELECT since FROM event_cursor WHERE name = ?", (name,))
        return from_iso(rows[0][0]) if rows else None

    def move_cursor(self, name: str, since: datetime) -> None:
        """Remember where reading `events/list` got to."""
        self._db.execute(
            "INSERT INTO event_cursor (name, since) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET since = excluded.since",
            (name, iso(since)),
        )
