"""Device leases on PostgreSQL: which controller replica may write to which lock, until when.

The way job queues on PostgreSQL share work, with every time on the database's clock:
- `replicas`: each replica's heartbeat, with an expiry; the live ones are those not expired,
  and a fair share is the devices divided by them.
- `device_leases`: one row per device with its holder, an expiry (`now()` + the lease time)
  and a `term` that grows by one at every take-over. Free or expired rows are taken with
  `FOR UPDATE SKIP LOCKED`, so two replicas never take the same row and never wait on each
  other. A holder renews only leases that have not expired; one that has is lost, even if no
  one took it yet (taking it again gives a new term).
- `holds(device, term)`: the check before a write. It passes only while the row names this
  replica with that term and the lease has at least `margin` left: a replica never starts a
  write its lease might not outlive.
No session-level advisory lock is used: every statement here runs on a pooled connection and
commits on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from reconciler.state.postgres import PostgresDatabase


@dataclass(frozen=True)
class LeaseRow:
    """One device's lease as any replica can read it (the status of the fleet)."""

    device_id: str
    holder: str | None
    term: int
    expires_in: float | None  # seconds left on the database's clock; None: free
    reconciled_at: datetime | None


class LeaseTable:
    """The lease tables, seen by one replica (`replica_id`), leases of `ttl` seconds."""

    def __init__(self, database: PostgresDatabase, replica_id: str, ttl: float) -> None:
        self.db = database
        self.replica_id = replica_id
        self.ttl = ttl

    def heartbeat(self) -> int:
        """Say this replica is alive for another lease time; how many replicas are."""
        self.db.execute(
            "INSERT INTO replicas (replica_id, expires_at) VALUES (?, now() + ? * interval "
            "'1 second') ON CONFLICT (replica_id) DO UPDATE SET seen_at = now(), "
            "expires_at = excluded.expires_at",
            (self.replica_id, self.ttl),
        )
        self.db.execute("DELETE FROM replicas WHERE expires_at < now() - interval '1 hour'")
        rows = self.db.execute("SELECT count(*) FROM replicas WHERE expires_at > now()")
        return max(1, int(rows[0][0]))

    def leave(self) -> None:
        """Hand every lease back and leave (a clean stop): others take over at once."""
        self.release(None)
        self.db.execute("DELETE FROM replicas WHERE replica_id = ?", (self.replica_id,))

    def ensure(self, device_ids: Iterable[str]) -> None:
        """Give every configured device a lease row (free until someone takes it)."""
        self.db.execute(
            "INSERT INTO device_leases (device_id) SELECT unnest(?::text[]) ON CONFLICT DO NOTHING",
            (sorted(set(device_ids)),),
        )

    def renew(self, held: Mapping[str, int]) -> dict[str, int]:
        """Extend the leases still held under their term; those not returned are lost."""
        if not held:
            return {}
        rows = self.db.execute(
            "UPDATE device_leases d SET expires_at = now() + ? * interval '1 second' "
            "FROM unnest(?::text[], ?::bigint[]) AS mine(device_id, term) "
            "WHERE d.device_id = mine.device_id AND d.term = mine.term AND d.holder = ? "
            "AND d.expires_at > now() RETURNING d.device_id, d.term",
            (self.ttl, list(held), list(held.values()), self.replica_id),
        )
        return {device_id: int(term) for device_id, term in rows}

    def acquire(self, device_ids: Sequence[str], limit: int) -> dict[str, int]:
        """Take up to `limit` of these devices whose lease is free or expired; their terms."""
        if limit <= 0 or not device_ids:
            return {}
        rows = self.db.execute(
            "WITH free AS (SELECT device_id FROM device_leases WHERE device_id = ANY(?) "
            "AND (holder IS NULL OR expires_at IS NULL OR expires_at <= now()) "
            "ORDER BY device_id LIMIT ? FOR UPDATE SKIP LOCKED) "
            "UPDATE device_leases d SET holder = ?, term = d.term + 1, acquired_at = now(), "
            "expires_at = now() + ? * interval '1 second' FROM free "
            "WHERE d.device_id = free.device_id RETURNING d.device_id, d.term",
            (list(device_ids), limit, self.replica_id, self.ttl),
        )
        return {device_id: int(term) for device_id, term in rows}

    def release(self, device_ids: Iterable[str] | None) -> None:
        """Hand these leases back (None: all of this replica's)."""
        if device_ids is None:
            self.db.execute(
                "UPDATE device_leases SET holder = NULL, expires_at = NULL WHERE holder = ?",
                (self.replica_id,),
            )
            return
        self.db.execute(
            "UPDATE device_leases SET holder = NULL, expires_at = NULL "
            "WHERE holder = ? AND device_id = ANY(?)",
            (self.replica_id, sorted(device_ids)),
        )

    def holds(self, device_id: str, term: int, margin: float) -> bool:
        """Whether this replica still holds the device under `term`, `margin` seconds ahead."""
        rows = self.db.execute(
            "SELECT 1 FROM device_leases WHERE device_id = ? AND holder = ? AND term = ? "
            "AND expires_at > now() + ? * interval '1 second'",
            (device_id, self.replica_id, term, margin),
        )
        return bool(rows)

    def reconciled(self, device_ids: Iterable[str]) -> None:
        """Note that these devices were just reconciled (by their holder)."""
        self.db.execute(
            "UPDATE device_leases SET reconciled_at = now() WHERE holder = ? "
            "AND device_id = ANY(?)",
            (self.replica_id, sorted(device_ids)),
        )

    def overview(self, device_ids: Sequence[str]) -> list[LeaseRow]:
        """Every configured device's lease, as the fleet's status shows it."""
        rows = self.db.execute(
            "SELECT ids.device_id, l.holder, COALESCE(l.term, 0), "
            "CASE WHEN l.expires_at > now() THEN "
            "EXTRACT(EPOCH FROM l.expires_at - now())::float8 END, l.reconciled_at "
            "FROM unnest(?::text[]) AS ids(device_id) "
            "LEFT JOIN device_leases l ON l.device_id = ids.device_id ORDER BY ids.device_id",
            (list(device_ids),),
        )
        return [
            LeaseRow(d, h if left is not None else None, int(t), left, r)
            for d, h, t, left, r in rows
        ]
