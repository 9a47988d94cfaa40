"""The journal: a record of every apply, and of what we last wrote to each code.

Each change is written before it is sent and its outcome after, so an apply killed halfway
leaves a record of what it was doing. Alongside, each code we wrote keeps a keyed fingerprint
of its values (PIN and window): when the lock later reports other values, someone changed the
code behind our back (`modified_externally`), which a config edit alone cannot cause. To say
which values, it also keeps a fingerprint of the PIN alone and the window in the clear
(`starts_at`, `ends_at`: not secrets). No PIN is stored in the clear: fingerprints are HMACs
with a key kept outside the database (`journal.key`, mode 0600, or `ACCESSCODES_JOURNAL_KEY`;
at least 32 bytes), and the PINs of people and stays (`pins`, read back) are encrypted under
it (`state.pins`), so the database alone does not reveal a PIN. The state folder is 0700 and
the database (with its -wal and -shm files) 0600.

Backup codes pulled for codes that failed to set (`backup_pulls`) are recorded by the failed
code's id with the backup code's id, the time and the outcome, never the backup PIN: one row per
failed code, so a pull (or an empty pool) is done and told once, not at every run.

The journal is kept in the local SQLite file (`state.sqlitefile`, the default) or in
PostgreSQL (`state.store`, `--state postgresql://...`), through the same calls
(`state.database`): the two read back the same.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.core.errors import UsageError
from reconciler.core.models import AccessCodeId, DeviceId, WrittenCode
from reconciler.core.plan import Change, from_iso, iso
from reconciler.state.database import Database
from reconciler.state.eventlog import EventLog
from reconciler.state.pins import PinStore
from reconciler.state.privatefile import create_private, private_dir, tighten_file
from reconciler.state.sourcecache import SourceCache
from reconciler.state.sqlitefile import open_sqlite

MIN_KEY_BYTES = 32
_CHUNK = 5000  # ids per IN list: below both engines' limits on parameters


def actor() -> str:
    """Who is applying: the CI's actor when in CI, else the local user."""
    if os.environ.get("GITHUB_ACTOR"):
        return f"ci:{os.environ['GITHUB_ACTOR']}"
    if os.environ.get("CI"):
        return "ci"
    return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


@dataclass(frozen=True)
class BackupPullRow:
    """One recorded backup-code pull: for which code, when, how it ended (never a PIN)."""

    access_code_id: str
    run_id: int | None
    at: str
    device_id: str
    name: str
    outcome: str
    backup_access_code_id: str | None
    message: str | None


@dataclass(frozen=True)
class HistoryRow:
    """One change of one run, as `accesscodes history` prints it."""

    run_id: int
    started_at: str
    actor: str
    command: str
    plan_checksum: str | None
    run_outcome: str
    at: str | None
    device: str | None
    name: str | None
    action: str | None
    status: str | None
    error_code: str | None


class Journal:
    """The state database of one config (default `.accesscodes/state.db` beside it)."""

    def __init__(self, path: Path, *, key: bytes | None = None) -> None:
        database = open_sqlite(path)
        self._attach(database, key if key is not None else load_key(path.parent / "journal.key"))

    @classmethod
    def on(cls, database: Database, key: bytes) -> Journal:
        """The journal kept in another engine (`state.store.open_state`: PostgreSQL)."""
        journal = cls.__new__(cls)
        journal._attach(database, key)
        return journal

    def _attach(self, database: Database, key: bytes) -> None:
        self._db = database
        self._key = key
        self.pins = PinStore(database, key)
        self.sources = SourceCache(database, key)
        self.events = EventLog(database)

    @property
    def database(self) -> Database:
        """The engine the journal is kept in (the controller's leases share it)."""
        return self._db

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # -- fingerprints --------------------------------------------------------------------

    def fingerprint(self, pin: str, starts_at: datetime | None, ends_at: datetime | None) -> str:
        """A keyed digest of a code's values; equal values give equal fingerprints."""
        return self._digest(pin, starts_at, ends_at)

    def pin_fingerprint(self, pin: str) -> str:
        """A keyed digest of the PIN alone, so drift can tell a changed PIN from a moved window."""
        return self._digest(pin, None, None)

    def _digest(self, pin: str, starts_at: datetime | None, ends_at: datetime | None) -> str:
        message = f"{pin}|{iso(starts_at) or ''}|{iso(ends_at) or ''}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def written(self, device_ids: list[str]) -> dict[AccessCodeId, WrittenCode]:
        """What we last wrote to the codes of these devices (with the PIN's own fingerprint and
        the window, where the row has them)."""
        found: dict[AccessCodeId, WrittenCode] = {}
        for start in range(0, len(device_ids), _CHUNK):
            chunk = device_ids[start : start + _CHUNK]
            rows = self._db.execute(
                "SELECT access_code_id, device_id, name, fingerprint, written_at, ends_at, "
                f"pin_fingerprint, starts_at FROM written WHERE device_id IN "
                f"({','.join('?' * len(chunk))})",
                chunk,
            )
            found.update({AccessCodeId(row[0]): _written(row) for row in rows})
        return found

    def remember(self, code: WrittenCode) -> None:
        """Record what we just wrote to a code (fingerprints and window, never a PIN). A record
        of the same code under an older id (same lock, name and end: it vanished and was
        created again) is replaced, or it would be reported `missing` at every run."""
        self._db.execute(
            f"DELETE FROM written WHERE device_id = ? AND name = ? AND ends_at {self._db.same} ? "
            "AND access_code_id != ?",
            (code.device_id, code.name, iso(code.ends_at), code.access_code_id),
        )
        self._db.execute(
            "INSERT INTO written (access_code_id, device_id, name, fingerprint, written_at, "
            "ends_at, pin_fingerprint, starts_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(access_code_id) DO UPDATE SET name = excluded.name, "
            "fingerprint = excluded.fingerprint, written_at = excluded.written_at, "
            "ends_at = excluded.ends_at, pin_fingerprint = excluded.pin_fingerprint, "
            "starts_at = excluded.starts_at",
            (
                code.access_code_id,
                code.device_id,
                code.name,
                code.fingerprint,
                iso(code.written_at),
                iso(code.ends_at),
                code.pin_fingerprint,
                iso(code.starts_at),
            ),
        )

    def forget(self, access_code_id: str) -> None:
        """A code we deleted has nothing left to compare."""
        self._db.execute("DELETE FROM written WHERE access_code_id = ?", (access_code_id,))

    # -- backup codes --------------------------------------------------------------------

    def backup_pulls(self, access_code_ids: list[str] | None = None) -> dict[str, BackupPullRow]:
        """The recorded pulls, by the failed code's id (all, or those of `access_code_ids`):
        what the backup step reads so it pulls, or reports an empty pool, only once."""
        query = (
            "SELECT access_code_id, run_id, at, device_id, name, outcome, "
            "backup_access_code_id, message FROM backup_pulls"
        )
        args: list[str] = []
        if access_code_ids is not None:
            if not access_code_ids:
                return {}
            query += f" WHERE access_code_id IN ({','.join('?' * len(access_code_ids))})"
            args = access_code_ids
        return {row[0]: BackupPullRow(*row) for row in self._db.execute(query, args)}

    def record_backup_pull(self, row: BackupPullRow) -> None:
        """Write down a pull's outcome for the failed code (replacing an earlier attempt's):
        the backup code's id, never its PIN."""
        self._db.execute(
            "INSERT INTO backup_pulls (access_code_id, run_id, at, device_id, name, outcome, "
            "backup_access_code_id, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(access_code_id) DO UPDATE SET run_id = excluded.run_id, "
            "at = excluded.at, device_id = excluded.device_id, name = excluded.name, "
            "outcome = excluded.outcome, backup_access_code_id = excluded.backup_access_code_id, "
            "message = excluded.message",
            (
                row.access_code_id,
                row.run_id,
                row.at,
                row.device_id,
                row.name,
                row.outcome,
                row.backup_access_code_id,
                row.message,
            ),
        )

    # -- runs ----------------------------------------------------------------------------

    def start_run(self, *, command: str, plan_checksum: str | None, now: datetime) -> int:
        """Open a run; its outcome stays `running` if the process dies before the end."""
        return self._db.insert_id(
            "INSERT INTO runs (started_at, actor, command, plan_checksum) VALUES (?, ?, ?, ?)",
            (iso(now), actor(), command, plan_checksum),
        )

    def finish_run(self, run_id: int, outcome: str, now: datetime) -> None:
        """Close a run with `ok` or `failed`."""
        self._db.execute(
            "UPDATE runs SET finished_at = ?, outcome = ? WHERE id = ?", (iso(now), outcome, run_id)
        )

    def before_send(self, run_id: int, change: Change, now: datetime) -> int:
        """Write a change down before it goes to the provider."""
        return self._db.insert_id(
            "INSERT INTO changes (run_id, at, device, device_id, name, occurrence, action, "
            "access_code_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                iso(now),
                change.device,
                change.device_id,
                change.name,
                iso(change.occurrence),
                str(change.action),
                change.access_code_id,
            ),
        )

    def after_send(
        self,
        change_id: int,
        *,
        status: str,
        access_code_id: str | None,
        error_code: str | None,
        message: str,
    ) -> None:
        """Write down how a change went: `status` is the applier's outcome state (ok, pending,
        failed, unknown, skipped); messages are already free of PINs."""
        self._db.execute(
            "UPDATE changes SET status = ?, access_code_id = COALESCE(?, access_code_id), "
            "error_code = ?, message = ? WHERE id = ?",
            (status, access_code_id, error_code, message, change_id),
        )

    def history(self, limit: int = 20) -> list[HistoryRow]:
        """The last `limit` runs with their changes, newest first."""
        rows = self._db.execute(
            "SELECT r.id, r.started_at, r.actor, r.command, r.plan_checksum, r.outcome, "
            "c.at, c.device, c.name, c.action, c.status, c.error_code FROM "
            "(SELECT * FROM runs ORDER BY id DESC LIMIT ?) r "
            "LEFT JOIN changes c ON c.run_id = r.id ORDER BY r.id DESC, c.id",
            (limit,),
        )
        return [HistoryRow(*row) for row in rows]


def _written(row: tuple[Any, ...]) -> WrittenCode:
    a, d, n, f, w, e, p, s = row
    return WrittenCode(
        AccessCodeId(a),
        DeviceId(d),
        n,
        f,
        from_iso(w) or datetime.min,
        from_iso(e),
        pin_fingerprint=p,
        starts_at=from_iso(s),
    )


def load_key(path: Path) -> bytes:
    """The journal key, which keys fingerprints (and plan seals): `ACCESSCODES_JOURNAL_KEY`,
    else the file at `path`, else a new random key written there (mode 0600, whole or not at
    all; a key another process wrote first wins). A key under 32 bytes is refused: an HMAC
    key that short could be guessed, and a half-written file must not pass for one."""
    from_env = os.environ.get("ACCESSCODES_JOURNAL_KEY")
    if from_env:
        return _long_enough(from_env.encode(), "ACCESSCODES_JOURNAL_KEY")
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        private_dir(path.parent)
        key = create_private(path, secrets.token_bytes(MIN_KEY_BYTES))
    tighten_file(path)
    return _long_enough(key, str(path))


def _long_enough(key: bytes, source: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise UsageError(
            f"the journal key in {source} is {len(key)} bytes; it must be at least "
            f"{MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`). Nothing was done with it."
        )
    return key
