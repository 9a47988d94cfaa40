"""The last good copy of each reservation feed, kept in the state store.

A feed that fails (an error, a timeout, an empty or broken answer) must never take a guest's
code away, even after a restart while it is down: so the last answer that was believed is
kept here with its ETag and Last-Modified (for conditional requests), when it was fetched, the
stays it had, and the answer being held back (`held_body`: a calendar that suddenly lost most
of its stays, believed only once it gives the same answer for `confirm_drop_after`, or on
`accesscodes sources accept`). `cancelled` lists the stays that left the feed, so their codes
are taken off until their end has passed. Feed bodies hold guests' names: the database is 0600.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.core.plan import from_iso, iso
from reconciler.state.database import Database

_COLUMNS = (
    "name",
    "body",
    "etag",
    "last_modified",
    "good_at",
    "checked_at",
    "error",
    "stays",
    "held_body",
    "held_since",
    "held_reason",
    "cancelled",
)


@dataclass(frozen=True)
class CachedFeed:
    """What the store remembers of one source (see the module docstring)."""

    name: str
    body: bytes | None = field(default=None, repr=False)
    etag: str | None = None
    last_modified: str | None = None
    good_at: datetime | None = None
    checked_at: datetime | None = None
    error: str | None = None
    stays: int = 0
    held_body: bytes | None = field(default=None, repr=False)
    held_since: datetime | None = None
    held_reason: str | None = None
    cancelled: tuple[dict[str, Any], ...] = ()


class SourceCache:
    """The `source_cache` table of the state database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def load(self) -> dict[str, CachedFeed]:
        """Every source's cached state, by name."""
        rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM source_cache")
        return {row[0]: _feed(row) for row in rows}

    def save(self, feed: CachedFeed) -> None:
        """Replace one source's cached state."""
        self._db.execute(
            f"INSERT INTO source_cache ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * 12)}) "
            "ON CONFLICT(name) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:]),
            (
                feed.name,
                feed.body,
                feed.etag,
                feed.last_modified,
                iso(feed.good_at),
                iso(feed.checked_at),
                feed.error,
                feed.stays,
                feed.held_body,
                iso(feed.held_since),
                feed.held_reason,
                json.dumps(list(feed.cancelled)),
            ),
        )


def _feed(row: tuple[Any, ...]) -> CachedFeed:
    return CachedFeed(
        name=row[0],
        body=row[1],
        etag=row[2],
        last_modified=row[3],
        good_at=from_iso(row[4]),
        checked_at=from_iso(row[5]),
        error=row[6],
        stays=row[7],
        held_body=row[8],
        held_since=from_iso(row[9]),
        held_reason=row[10],
        cancelled=tuple(json.loads(row[11] or "[]")),
    )
