"""The PINs of people and stays, kept in the state store so that they never rotate by accident.

A person or stay without a PIN in the config gets one generated once (`planning.pins`); it is
kept here at the first apply and reused from then on, never derived again, so a lock that was
unreachable for a cycle, a restart or a new door does not change it. Only `accesscodes rotate`
asks for a new one (`state = 'rotate'`: the next plan draws it, the next apply keeps it).

Unlike the journal's fingerprints, these PINs must be read back, so they are encrypted, with
AES-GCM (the `cryptography` library) under a key derived from the journal key, which lives
outside the database; the holder's key is the associated data, so a row copied onto another
holder does not decrypt. A row that does not decrypt (the journal key was replaced) reads as
absent: the planner then takes the PIN from the locks, where it is still set.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.core.plan import iso
from reconciler.state.database import Database
from reconciler.state.sealing import Sealer


@dataclass(frozen=True)
class StoredPins:
    """What the store holds: each holder's PIN, and the holders asked to rotate."""

    pins: Mapping[str, str] = field(default_factory=dict, repr=False)
    rotations: frozenset[str] = frozenset()


class PinStore:
    """The `pins` table of the state database, encrypted under the journal key."""

    def __init__(self, db: Database, journal_key: bytes) -> None:
        self._db = db
        self._sealer = Sealer(journal_key, b"accesscodes pin store\0")

    def load(self) -> StoredPins:
        """Every PIN that decrypts, and the pending rotations."""
        pins: dict[str, str] = {}
        rotations = set()
        for holder, sealed, state in self._db.execute("SELECT holder, sealed, state FROM pins"):
            if state == "rotate":
                rotations.add(holder)
            pin = self._open(holder, sealed) if sealed else None
            if pin is not None:
                pins[holder] = pin
        return StoredPins(pins, frozenset(rotations))

    def keep(
        self, pins: Mapping[str, str], now: datetime, *, drawn: frozenset[str] = frozenset()
    ) -> None:
        """Store these holders' PINs (a rotation asked for them is then done). A PIN `drawn`
        new in this run gives way to one another process kept meanwhile (two controller
        replicas drawing for one person's doors at once): it replaces only a rotation."""
        sealed = {holder: self._seal(holder, pin) for holder, pin in pins.items()}
        upsert = (
            "INSERT INTO pins (holder, sealed, state, updated_at) VALUES (?, ?, 'kept', ?) "
            "ON CONFLICT(holder) DO UPDATE SET sealed = excluded.sealed, state = 'kept', "
            "updated_at = excluded.updated_at"
        )
        with self._db.transaction():
            self._db.executemany(
                upsert, [(h, s, iso(now)) for h, s in sealed.items() if h not in drawn]
            )
            self._db.executemany(
                f"{upsert} WHERE pins.state = 'rotate' OR pins.sealed IS NULL",
                [(h, s, iso(now)) for h, s in sealed.items() if h in drawn],
            )

    def rotate(self, holder: str, now: datetime) -> None:
        """Ask for a new PIN for one holder at the next plan; the old one stays until then."""
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO pins (holder, sealed, state, updated_at) "
                "VALUES (?, NULL, 'rotate', ?) ON CONFLICT(holder) DO UPDATE SET "
                "state = 'rotate', updated_at = excluded.updated_at",
                (holder, iso(now)),
            )

    def _seal(self, holder: str, pin: str) -> str:
        return base64.b64encode(self._sealer.seal(pin.encode(), holder)).decode()

    def _open(self, holder: str, text: str) -> str | None:
        try:
            pin = self._sealer.open(base64.b64decode(text), holder)
        except ValueError:  # not base64: not a PIN of ours
            return None
        return pin.decode() if pin is not None else None
