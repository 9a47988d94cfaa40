"""The last good copy of each reservation feed, kept in the state store.

A feed that fails (an error, a timeout, an empty or broken answer) must never take a guest's
code away, even after a restart while it is down: so the last answer that was believed is
kept here with its ETag and Last-Modified (for conditional requests), when it was fetched, the
stays it had, and the answer being held back (`held_body`: a calendar that suddenly lost most
of its stays, believed only once it gives the same answer for `confirm_drop_after`, or on
`accesscodes sources accept`). `cancelled` lists the stays that left the feed, so their codes
are taken off until their end has passed. Feed bodies hold guests' names and may hold their
phone digits (a PIN, with `code: phone_last4`): they are sealed under the journal key
(`state.sealing`), so neither the file nor a shared database shows them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from reconciler.core.plan import from_iso, iso
from reconciler.state.database import Database
from reconciler.state.sealing import Sealer

SEALED = b"acs-sealed1:"  # before a body sealed under the journal key (older rows: plain)
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

    def __init__(self, db: Database, journal_key: bytes) -> None:
        self._db = db
        self._sealer = Sealer(journal_key, b"accesscodes feed cache\0")

    def load(self) -> dict[str, CachedFeed]:
        """Every source's cached state, by name."""
        rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM source_cache")
        return {row[0]: self._opened(_feed(row)) for row in rows}

    def save(self, feed: CachedFeed) -> None:
        """Replace one source's cached state."""
        self._db.execute(
            f"INSERT INTO source_cache ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * 12)}) "
            "ON CONFLICT(name) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:]),
            (
                feed.name,
                self._sealed(feed.body, feed.name),
                feed.etag,
                feed.last_modified,
                iso(feed.good_at),
                iso(feed.checked_at),
                feed.error,
                feed.stays,
                self._sealed(feed.held_body, feed.name + "/held"),
                iso(feed.held_since),
                feed.held_reason,
                json.dumps(list(feed.cancelled)),
            ),
        )

    def _sealed(self, body: bytes | None, row: str) -> bytes | None:
        return SEALED + self._sealer.seal(body, row) if body is not None else None

    def _opened(self, feed: CachedFeed) -> CachedFeed:
        """The bodies in the clear; a body kept before they were sealed is read as it is."""
        return replace(
            feed,
            body=self._open(feed.body, feed.name),
            held_body=self._open(feed.held_body, feed.name + "/held"),
        )

    def _open(self, body: bytes | None, row: str) -> bytes | None:
        if body is None or not bytes(body).startswith(SEALED):
            return bytes(body) if body is not None else None
        return self._sealer.open(bytes(body)[len(SEALED) :], row)


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
